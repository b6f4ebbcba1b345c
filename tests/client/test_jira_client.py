"""JiraClient against a served app: every Jira route, rotation, the per-chain lock, recovery, error details."""
import threading

import pytest
import requests
from sqlalchemy import select

from seecodes.audit.models import SecurityEvent
from seecodes_client import (BadRequest, Gone, JiraClient, RequestOutcomeUnknown, SeeCodesError)
from seecodes_client.jira import REQUEST_KEY_HEADER
from seecodes_client.transport import error_from
from seecodes.extensions import db

from ..helpers import VSCODE_LINK_EXAMPLE


def _events(app):
    with app.app_context():
        return [(e.kind, e.details.get("severity")) for e in db.session.execute(select(SecurityEvent)).scalars()]


def test_every_jira_route_of_the_contract_answers_through_the_client(jira_client, tenant):
    assert jira_client.instance()["installationId"] == tenant["installation_id"]
    link = jira_client.vscode_link("AUTH", "AUTH-128", user_account_id=tenant["principal"],
                                   jira_context=VSCODE_LINK_EXAMPLE["jiraContext"])
    assert link["launchCode"].startswith("sc_launch_") and "/v1/launch?" in link["httpsUrl"]
    permit = jira_client.task_permit("AUTH", "AUTH-128", user_account_id=tenant["principal"])
    assert permit["projectId"] == "AUTH" and permit["permit"]
    assert jira_client.progress("AUTH-128", "AUTH") is None
    assert jira_client.instance_metrics(17, source="forge-hourly-sync") == {"ok": True}
    assert jira_client.usage(limit=10)["availableCredits"] == 0
    assert list(jira_client.iter_usage()) == []
    assert jira_client.team_competition(project_id="AUTH")["formula"]["version"] == "v1"
    assert jira_client.models()[0]["id"] == "strict light"
    with pytest.raises(Gone) as refused:
        jira_client.telemetry_events([{"eventType": "ai.usage"}])
    assert refused.value.code == "telemetry_disabled"


def test_the_client_bootstraps_once_and_rotates_on_every_answer(jira_client):
    for _ in range(5):
        jira_client.instance()
    assert jira_client.bootstraps == 1


def test_a_refused_request_keeps_the_key_current(jira_client):
    jira_client.instance()
    with pytest.raises(BadRequest) as refused:
        jira_client.vscode_link("AUTH", "AUTH-128", expiration_days=0)
    assert (refused.value.status, refused.value.code) == (422, "validation_failed")
    assert "expirationDays" in refused.value.errors
    jira_client.instance()
    assert jira_client.bootstraps == 1


def test_a_lost_answer_to_a_get_is_retried_once_on_a_fresh_chain(app, jira_client, dropping):
    jira_client.instance()
    dropping.drop("GET", "/v1/instances/me")
    assert jira_client.instance()["status"] == "active"
    assert jira_client.bootstraps == 2
    assert _events(app) == []  # the consumed key is never presented again: nothing to record


def test_a_lost_answer_to_a_post_raises_outcome_unknown_and_the_next_call_recovers(jira_client, dropping, tenant):
    jira_client.instance()
    dropping.drop("POST", "/v1/security/vscode-link")
    with pytest.raises(RequestOutcomeUnknown) as lost:
        jira_client.vscode_link("AUTH", "AUTH-128", user_account_id=tenant["principal"])
    assert lost.value.code == "outcome_unknown"
    sent = [url for method, url in dropping.sent if "vscode-link" in url]
    assert len(sent) == 1  # not retried
    assert jira_client.instance()["status"] == "active"
    assert jira_client.bootstraps == 2


def test_a_replayed_key_is_recovered_by_one_bootstrap_and_a_retry(app, jira_client, forge_token, base_url):
    jira_client.instance()
    stolen = jira_client._key  # another holder of the chain uses the key first
    used = requests.get(f"{base_url}/v1/instances/me",
                        headers={"Authorization": f"Bearer {forge_token()}", REQUEST_KEY_HEADER: stolen}, timeout=10)
    assert used.status_code == 200
    assert jira_client.task_permit("AUTH", "AUTH-128")["permit"]  # a POST too: a 401 proves it did not run
    assert jira_client.bootstraps == 2
    assert _events(app) == [("request_key_retried", "expected")]


def test_threads_sharing_one_client_are_serialised_on_its_chain(jira_client):
    failures = []

    def call():
        try:
            jira_client.instance()
        except SeeCodesError as error:  # surfaced in the assertion
            failures.append(error)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert jira_client.bootstraps == 1


def test_parallel_background_calls_on_forked_clients_all_succeed(base_url, signer, tenant):
    """Forge backend functions (no principal): each fork bootstraps its own chain."""
    backend = JiraClient(base_url, lambda: signer.token(tenant["installation_id"], tenant["cloud_id"]))
    forks = [backend.fork() for _ in range(8)]
    results = [None] * 8
    barrier = threading.Barrier(8)

    def call(index):
        barrier.wait()
        try:
            results[index] = forks[index].usage()["ok"]
        except SeeCodesError as error:
            results[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [True] * 8


def test_two_tabs_of_one_user_keep_working_side_by_side(base_url, forge_token):
    tab_one, tab_two = JiraClient(base_url, forge_token), JiraClient(base_url, forge_token)
    for _ in range(3):
        tab_one.instance()
        tab_two.instance()
    assert (tab_one.bootstraps, tab_two.bootstraps) == (1, 1)


def test_a_session_id_resumes_one_chain(base_url, forge_token):
    panel = JiraClient(base_url, forge_token, session_id="panel-1")
    panel.instance()
    panel.bootstrap()
    panel.instance()
    assert panel.bootstraps == 2


def test_an_error_carries_code_detail_status_and_request_id():
    response = requests.Response()
    response.status_code = 409
    response._content = b'{"ok": false, "error": "run_already_started", "detail": "Started.", "requestId": "b1"}'
    response.headers["Content-Type"] = "application/json"
    error = error_from(response)
    assert (error.code, error.detail, error.status, error.request_id) == ("run_already_started", "Started.", 409, "b1")
    response.headers["X-Request-ID"] = "from-header"
    assert error_from(response).request_id == "from-header"


def test_a_non_json_error_page_still_makes_a_precise_error():
    response = requests.Response()
    response.status_code = 502
    response._content = b"<html>Bad gateway</html>"
    error = error_from(response)
    assert (error.code, error.status) == ("http_502", 502)


def test_a_gateway_error_page_on_a_get_is_retried_on_a_fresh_chain(jira_client, dropping):
    jira_client.instance()
    dropping.gateway_error("GET", "/v1/instances/me")
    assert jira_client.instance()["status"] == "active"
    assert jira_client.bootstraps == 2


def test_a_gateway_error_page_on_a_post_is_an_unknown_outcome(jira_client, dropping):
    jira_client.instance()
    dropping.gateway_error("POST", "/v1/jira/instance-metrics")
    with pytest.raises(RequestOutcomeUnknown) as lost:
        jira_client.instance_metrics(3)
    assert lost.value.status == 502
