"""Credential hygiene: no-store on every answer carrying a credential, permits bound by their stored row."""
import pytest

from seecodes import ids

from ..helpers import NEXT_KEY, VSCODE_LINK_EXAMPLE, bearer
from .conftest import assert_envelope


def assert_no_store(response):
    assert response.headers.get("Cache-Control") == "no-store", dict(response.headers)
    assert response.headers.get("Pragma") == "no-cache"


# --- Cache-Control: no-store (RFC 6749 §5.1) ---

def test_request_key_answer_is_not_stored(jira, client):
    response = client.post("/v1/jira/request-key", json={}, headers=jira.auth())
    assert response.status_code == 200
    assert_no_store(response)


def test_vscode_link_answer_is_not_stored(jira):
    response = jira.post("/v1/security/vscode-link", json={**VSCODE_LINK_EXAMPLE, "userAccountId": jira.principal})
    assert response.status_code == 200
    assert_no_store(response)


def test_task_permit_answer_is_not_stored(jira):
    response = jira.post("/v1/security/task-permit",
                         json={"projectId": "AUTH", "taskId": "AUTH-128", "userAccountId": jira.principal})
    assert response.status_code == 200
    assert_no_store(response)


def test_launch_exchange_answer_is_not_stored(jira, client):
    link = jira.post("/v1/security/vscode-link", json={**VSCODE_LINK_EXAMPLE, "userAccountId": jira.principal})
    response = client.post("/v1/security/launch-exchange",
                           json={"code": link.get_json()["launchCode"], "projectId": "AUTH", "taskId": "AUTH-128"})
    assert response.status_code == 200
    assert_no_store(response)


def test_every_answer_carrying_a_next_request_key_is_not_stored(jira):
    response = jira.get("/v1/instances/me")
    assert response.status_code == 200 and NEXT_KEY in response.headers
    assert_no_store(response)


@pytest.mark.parametrize("path, body", [
    ("/v1/jira/request-key", {}),
    ("/v1/security/vscode-link", VSCODE_LINK_EXAMPLE),
    ("/v1/security/task-permit", {"projectId": "AUTH", "taskId": "AUTH-128"}),
])
def test_refusals_of_the_credential_routes_are_not_stored_either(client, path, body):
    assert_envelope(client.post(path, json=body), 401, "credential_missing")
    assert_no_store(client.post(path, json=body))


def test_refused_launch_exchange_is_not_stored(client):
    response = client.post("/v1/security/launch-exchange",
                           json={"code": ids.new_secret("sc_launch_"), "projectId": "AUTH", "taskId": "AUTH-128"})
    assert_envelope(response, 401, "launch_code_invalid")
    assert_no_store(response)


def test_answers_without_a_credential_keep_their_caching(client):
    assert "no-store" not in client.get("/healthz").headers.get("Cache-Control", "")


# --- Permits: the binding comes from the stored row ---

def _resign(app, permit, **changes):
    """What a holder of a signing key could do: re-sign an existing permit id with another binding."""
    from seecodes.permits import service as permits

    with app.test_request_context():
        serializer = permits._serializer()
        claims = serializer.loads(permit)
        return serializer.dumps({**claims, **changes})


def test_a_permit_id_re_signed_for_another_task_is_refused(app, client, jira):
    permit = jira.permit("AUTH", "AUTH-128")
    forged = _resign(app, permit, t="AUTH-999")
    response = client.get("/v1/tasks/AUTH-999/progress", query_string={"projectId": "AUTH"}, headers=bearer(forged))
    assert_envelope(response, 401, "permit_invalid")


def test_a_permit_id_re_signed_for_another_project_is_refused(app, client, jira):
    permit = jira.permit("AUTH", "AUTH-128")
    forged = _resign(app, permit, p="OTHER")
    response = client.post("/v1/projects/OTHER/indexes/query", json={"items": []}, headers=bearer(forged))
    assert_envelope(response, 401, "permit_invalid")


def test_a_permit_id_re_signed_for_another_user_is_refused(app, client, jira):
    permit = jira.permit("AUTH", "AUTH-128")
    forged = _resign(app, permit, u="557058:mallory")
    response = client.get("/v1/tasks/AUTH-128/progress", query_string={"projectId": "AUTH"}, headers=bearer(forged))
    assert_envelope(response, 401, "permit_invalid")


def test_the_binding_is_the_rows(app, jira):
    from seecodes.permits import service as permits

    permit = jira.permit("AUTH", "AUTH-128")
    with app.test_request_context():
        binding = permits.verify(permit)
    assert (binding.project_id, binding.task_id, binding.user_account_id) == ("AUTH", "AUTH-128", jira.principal)
