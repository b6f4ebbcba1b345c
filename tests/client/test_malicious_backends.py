"""Hostile or broken backends on loopback ports: the client keeps its launch codes, permits and request keys to
the backend the user configured, and stores nothing a backend answers for another task."""
import json
import time

import pytest

from seecodes_client import JiraClient, RedirectRefused, TaskClient
from seecodes_client.cli import EXIT_CLIENT_ERROR, EXIT_OK, EXIT_SERVER_FAILURE
from seecodes_client.jira import NEXT_KEY_HEADER, REQUEST_KEY_HEADER

from .fake_backend import Answer, fake_backend, json_answer



def _exchange_answers(backend, project_id="AUTH", task_id="AUTH-1"):
    @backend.route("POST", "/v1/security/launch-exchange")
    def exchange(request):
        return json_answer({"ok": True, "permit": "permit-from-the-fake", "projectId": project_id, "taskId": task_id,
                            "expiresAt": int(time.time()) + 3600})

    @backend.route("GET", "/v1/tasks/context")
    def context(request):
        return json_answer({"ok": False, "error": "context_not_found", "detail": "none"}, 404)


def _link(backend, code="sc_launch_fake", task_id="AUTH-1"):
    return f"{backend.url}/v1/launch?p=AUTH&t={task_id}&c={code}"


@pytest.fixture
def malicious():
    with fake_backend() as backend:
        yield backend


@pytest.fixture
def elsewhere():
    """The host a malicious backend redirects to: it must never hear a credential."""
    with fake_backend() as backend:
        yield backend


def test_a_link_naming_an_unconfigured_backend_is_refused_and_nothing_is_sent(cli, malicious):
    _exchange_answers(malicious)
    code, out, _ = cli("--json", "open", _link(malicious))
    document = json.loads(out)
    assert (code, document["error"]) == (EXIT_CLIENT_ERROR, "untrusted_backend")
    assert malicious.url in document["detail"] and "--trust-link" in document["detail"]
    assert malicious.seen == []
    assert not (cli.folder / "session.json").exists()


def test_a_link_naming_another_backend_than_the_configured_one_is_refused(cli, malicious, elsewhere):
    _exchange_answers(malicious)
    code, out, _ = cli("--json", "open", _link(malicious), env={"SEECODES_BASE_URL": elsewhere.url})
    assert (code, json.loads(out)["error"]) == (EXIT_CLIENT_ERROR, "backend_mismatch")
    assert malicious.seen == [] and elsewhere.seen == []


def test_trust_link_confirms_a_backend_which_is_then_remembered(cli, malicious):
    _exchange_answers(malicious)
    code, _, err = cli("open", "--trust-link", _link(malicious, "sc_launch_one"))
    assert code == EXIT_OK, err
    assert json.loads((cli.folder / "backends.json").read_text())["backends"] == [malicious.url]
    assert (cli.folder / "backends.json").stat().st_mode & 0o777 == 0o600
    code, _, err = cli("open", _link(malicious, "sc_launch_two"))  # confirmed once: trusted from now on
    assert code == EXIT_OK, err
    bare = "vscode://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-1?code=sc_launch_three"
    assert cli("open", bare)[0] == EXIT_OK  # a link without a backend goes to the remembered one
    assert len(malicious.requests_to("/v1/security/launch-exchange")) == 3


def test_a_permit_answered_for_another_task_is_not_stored(cli, malicious):
    _exchange_answers(malicious, task_id="AUTH-999")
    code, out, _ = cli("--json", "--base-url", malicious.url, "open", _link(malicious))
    document = json.loads(out)
    assert (code, document["error"]) == (EXIT_SERVER_FAILURE, "permit_binding_mismatch")
    assert not (cli.folder / "session.json").exists()
    assert not (cli.folder / "backends.json").exists()
    assert malicious.requests_to("/v1/tasks/") == []  # the permit was never used either


def test_the_sdk_refuses_a_permit_for_another_project(malicious):
    _exchange_answers(malicious, project_id="OTHER")
    from seecodes_client import CodeLedger, ServerError

    with pytest.raises(ServerError) as refused:
        TaskClient.open(_link(malicious), base_url=malicious.url, ledger=CodeLedger())
    assert refused.value.code == "permit_binding_mismatch"


def _redirect_to(target, status=307, **headers):
    return lambda request: Answer(status, b"", {"Location": target + request.path, **headers})


def test_the_jira_client_never_sends_its_request_key_across_a_redirect(malicious, elsewhere):
    bootstraps = []

    @malicious.route("POST", "/v1/jira/request-key")
    def bootstrap(request):
        bootstraps.append(request)
        return json_answer({"ok": True, "requestKey": f"sc_jira_req_{len(bootstraps)}",
                            "expiresAt": int(time.time()) + 600})

    malicious.route("POST", "/v1/jira/instance-metrics")(
        _redirect_to(elsewhere.url, **{NEXT_KEY_HEADER: "sc_jira_req_from_a_redirect"}))
    malicious.route("GET", "/v1/instances/me")(_redirect_to(elsewhere.url, status=302))
    client = JiraClient(malicious.url, lambda: "forge-token")
    with pytest.raises(RedirectRefused) as refused:
        client.instance_metrics(3)
    assert refused.value.status == 307 and elsewhere.url in refused.value.detail
    with pytest.raises(RedirectRefused):
        client.instance()
    assert elsewhere.seen == []  # neither the Forge token nor a key went there
    sent_keys = [seen.headers.get(REQUEST_KEY_HEADER) for seen in malicious.seen
                 if not seen.path.startswith("/v1/jira/request-key")]
    assert sent_keys == ["sc_jira_req_1", "sc_jira_req_2"]  # the redirect's key never; a fresh chain each time
    assert len(bootstraps) == 2


def test_the_jira_client_ignores_a_next_key_from_another_host(malicious, elsewhere):
    """Even if a redirect were followed, a key handed out by another host is never adopted."""
    client = JiraClient(malicious.url, lambda: "forge-token")
    import requests

    response = requests.Response()
    response.status_code, response.url = 200, elsewhere.url + "/v1/instances/me"
    response.headers[NEXT_KEY_HEADER] = "sc_jira_req_foreign"
    assert client._adopt_next_key(response) is False and client._key is None
    response.url = malicious.url + "/v1/instances/me"
    assert client._adopt_next_key(response) is True and client._key == "sc_jira_req_foreign"


def test_a_task_client_does_not_follow_a_redirect_with_its_permit(malicious, elsewhere):
    malicious.route("GET", "/v1/tasks/")(_redirect_to(elsewhere.url, status=308))
    client = TaskClient(malicious.url, "the-permit", project_id="AUTH", task_id="AUTH-1", retry_delays=())
    with pytest.raises(RedirectRefused):
        client.status("run_1")
    with pytest.raises(RedirectRefused):
        client.context()
    assert elsewhere.seen == []


def test_a_redirected_launch_exchange_does_not_send_the_code_on(cli, malicious, elsewhere):
    malicious.route("POST", "/v1/security/launch-exchange")(_redirect_to(elsewhere.url))
    code, out, _ = cli("--json", "--base-url", malicious.url, "open", _link(malicious))
    assert (code, json.loads(out)["error"]) == (EXIT_SERVER_FAILURE, "redirect_refused")
    assert elsewhere.seen == [] and not (cli.folder / "session.json").exists()
