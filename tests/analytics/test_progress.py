"""POST/GET /v1/tasks/{taskId}/progress: the contract's document, exact binding, tenant scope."""
import re

import pytest

from ..helpers import NEXT_KEY, REQUEST_KEY, assert_envelope, bearer
from ..contract_examples import PROGRESS_EXAMPLE

URL = "/v1/tasks/AUTH-128/progress"


def test_saved_progress_round_trips_with_utc_updated_at(client, auth):
    assert client.post(URL, json=PROGRESS_EXAMPLE, headers=auth).get_json() == {"ok": True}
    answer = client.get(URL, query_string={"projectId": "AUTH"}, headers=auth).get_json()
    progress = answer["progress"]
    assert answer["ok"] is True
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", progress.pop("updatedAt"))
    assert progress == PROGRESS_EXAMPLE


def test_task_without_progress_answers_null(client, auth):
    assert client.get(URL, query_string={"projectId": "AUTH"}, headers=auth).get_json() == {"ok": True, "progress": None}


def test_jira_app_reads_progress_with_request_key(client, auth, jira):
    client.post(URL, json=PROGRESS_EXAMPLE, headers=auth)
    response = jira.get(URL, query_string={"projectId": "AUTH"})
    assert response.status_code == 200
    assert response.get_json()["progress"]["ready"] == PROGRESS_EXAMPLE["ready"]


def test_second_save_replaces_the_document(client, auth):
    client.post(URL, json=PROGRESS_EXAMPLE, headers=auth)
    client.post(URL, json={"ready": ["Only this"]}, headers=auth)
    progress = client.get(URL, query_string={"projectId": "AUTH"}, headers=auth).get_json()["progress"]
    assert progress["ready"] == ["Only this"] and progress["left"] == [] and progress["progress"] is None


def test_save_for_another_task_is_forbidden(client, auth):
    response = client.post("/v1/tasks/AUTH-129/progress", json=PROGRESS_EXAMPLE, headers=auth)
    assert_envelope(response, 403, "permit_binding_mismatch")


@pytest.mark.parametrize("path, project", [("/v1/tasks/AUTH-129/progress", "AUTH"), (URL, "OTHER")])
def test_read_outside_the_permit_binding_is_forbidden(client, auth, path, project):
    assert_envelope(client.get(path, query_string={"projectId": project}, headers=auth), 403, "permit_binding_mismatch")


def test_read_requires_project_id(client, auth):
    assert "projectId" in assert_envelope(client.get(URL, headers=auth), 422, "validation_failed")["errors"]


def test_save_without_permit_is_unauthorized(client):
    assert_envelope(client.post(URL, json=PROGRESS_EXAMPLE), 401, "credential_missing")


def test_other_installation_never_sees_progress(client, auth, other_jira):
    client.post(URL, json=PROGRESS_EXAMPLE, headers=auth)
    assert other_jira.get(URL, query_string={"projectId": "AUTH"}).get_json()["progress"] is None
    other = bearer(other_jira.permit())
    assert client.get(URL, query_string={"projectId": "AUTH"}, headers=other).get_json()["progress"] is None


@pytest.mark.parametrize("body", [
    {"ready": ["x"] * 101},
    {"left": ["x" * 2001]},
    {"risks": [42]},
    {"progress": "x" * 65},
    {"logs": "not a list"},
])
def test_out_of_bounds_document_is_refused(client, auth, body):
    assert assert_envelope(client.post(URL, json=body, headers=auth), 422, "validation_failed")["errors"]


# --- Reading with either credential: the bearer decides the path, not the request-key header ---

def test_a_permit_with_a_stray_request_key_header_reads_on_the_permit_path(client, auth):
    # What a generated client sends when it applies every entry of the security list (hey-api): the permit
    # as the bearer and again as the request key.
    headers = {**auth, REQUEST_KEY: auth["Authorization"].removeprefix("Bearer ")}
    response = client.get(URL, query_string={"projectId": "AUTH"}, headers=headers)
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"ok": True, "progress": None}
    assert NEXT_KEY not in response.headers


def test_the_permit_path_leaves_a_request_key_unconsumed(client, auth, jira):
    key = jira.bootstrap()
    response = client.get(URL, query_string={"projectId": "AUTH"}, headers={**auth, REQUEST_KEY: key})
    assert response.status_code == 200, response.get_json()
    assert NEXT_KEY not in response.headers
    assert jira.get("/v1/instances/me").status_code == 200  # the key is still the chain's current one


def test_a_permit_with_a_request_key_still_enforces_the_permit_binding(client, auth, jira):
    headers = {**auth, REQUEST_KEY: jira.bootstrap()}
    response = client.get("/v1/tasks/AUTH-129/progress", query_string={"projectId": "AUTH"}, headers=headers)
    assert_envelope(response, 403, "permit_binding_mismatch")


def test_a_forge_token_without_a_request_key_is_refused(client, jira):
    assert_envelope(client.get(URL, query_string={"projectId": "AUTH"}, headers=jira.auth()), 401, "permit_invalid")


def test_a_forge_token_with_a_spent_request_key_is_refused(client, jira):
    spent = jira.bootstrap()
    assert jira.get(URL, query_string={"projectId": "AUTH"}).status_code == 200
    response = client.get(URL, query_string={"projectId": "AUTH"}, headers={**jira.auth(), REQUEST_KEY: spent})
    assert_envelope(response, 401, "request_key_replayed")
