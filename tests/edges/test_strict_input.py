"""Strict JSON types and full-string identifier matching."""
import pytest

from seecodes.storage.local import LocalStorage
from seecodes.errors import NotFound

WINDOW = {"windowStartedAt": "2026-04-04T10:00:00Z", "windowEndedAt": "2026-04-04T10:15:00Z"}


def _assert_422(response, field):
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["error"] == "validation_failed" and field in body["errors"], body


@pytest.mark.parametrize("field,value", [("logicChange", "yes"), ("specificationUiChange", 0),
                                         ("architectureChange", 1), ("logicChange", "true")])
def test_snapshot_booleans_must_be_json_booleans(client, auth, field, value):
    response = client.post("/v1/tasks/activity-snapshot", json={**WINDOW, field: value}, headers=auth)
    _assert_422(response, field)


@pytest.mark.parametrize("field,value", [("locAdded", True), ("locAdded", "5"), ("locAdded", 5.0),
                                         ("humanActiveMs", False)])
def test_snapshot_integers_must_be_json_integers(client, auth, field, value):
    response = client.post("/v1/tasks/activity-snapshot", json={**WINDOW, field: value}, headers=auth)
    _assert_422(response, field)


@pytest.mark.parametrize("value", ["3", True, 3.0])
def test_expiration_days_must_be_a_json_integer(jira, value):
    response = jira.post("/v1/security/vscode-link",
                         json={"projectId": "AUTH", "taskId": "AUTH-128", "expirationDays": value})
    _assert_422(response, "expirationDays")


@pytest.mark.parametrize("value", [True, "17"])
def test_installed_users_count_must_be_a_json_integer(jira, value):
    response = jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": value})
    _assert_422(response, "installedUsersCount")


def test_index_updated_at_must_be_a_json_integer(client, auth):
    body = {"entries": {"src/a.ts": {"hash": "a" * 64, "updatedAt": True}}}
    response = client.post("/v1/projects/AUTH/indexes/upsert", json=body, headers=auth)
    _assert_422(response, "entries")


@pytest.mark.parametrize("field", ["projectId", "taskId"])
def test_task_permit_ids_with_trailing_newline_are_422(jira, field):
    body = {"projectId": "PRJ", "taskId": "PRJ-1", field: {"projectId": "PRJ", "taskId": "PRJ-1"}[field] + "\n"}
    _assert_422(jira.post("/v1/security/task-permit", json=body), field)


def test_session_id_with_trailing_newline_is_422(jira):
    response = jira.client.post("/v1/jira/request-key", json={"sessionId": "tab-1\n"}, headers=jira.auth())
    _assert_422(response, "sessionId")


def test_user_account_id_with_trailing_newline_is_422(jira):
    body = {"projectId": "PRJ", "taskId": "PRJ-1", "userAccountId": jira.principal + "\n"}
    _assert_422(jira.post("/v1/security/task-permit", json=body), "userAccountId")


@pytest.mark.parametrize("param", ["p", "t", "c"])
def test_launcher_parameters_with_trailing_newline_are_400(client, param):
    query = {"p": "AUTH", "t": "AUTH-128", "c": "sc_launch_" + "a" * 43}
    query[param] += "\n"
    response = client.get("/v1/launch", query_string=query)
    body = response.get_json()
    assert response.status_code == 400, body
    assert param in body["errors"]


def test_cloud_id_hint_with_trailing_newline_is_422(jira):
    response = jira.client.post("/v1/jira/request-key", json={"cloudIdHint": jira.cloud_id + "\n"},
                                headers=jira.auth())
    _assert_422(response, "cloudIdHint")


def test_installation_ari_with_trailing_newline_is_refused(client, signer, tenant):
    token = signer.token(tenant["installation_id"] + "\n", tenant["cloud_id"], tenant["principal"])
    response = client.post("/v1/jira/request-key", json={}, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.get_json()


def test_index_hash_with_trailing_newline_is_422(client, auth):
    response = client.post("/v1/projects/AUTH/indexes/query", json={"items": [{"path": "a", "hash": "a" * 64 + "\n"}]},
                           headers=auth)
    _assert_422(response, "items")


def test_local_store_refuses_segments_longer_than_a_file_name(tmp_path):
    storage = LocalStorage(str(tmp_path), "http://x", app=None)
    with pytest.raises(NotFound):
        storage.path("runs/run_1/input/" + "é" * 128)
    assert storage.path("runs/run_1/input/" + "é" * 127).name == "é" * 127
