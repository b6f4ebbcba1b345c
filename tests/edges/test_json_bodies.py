"""Malformed JSON bodies: 400 invalid_json / 415 / 413 before any work, and nothing changes."""
import io

from .conftest import PROGRESS, stored_progress

DEEP = b"[" * 50_000 + b"]" * 50_000
HUGE_INT = b'{"code": "sc_launch_x", "projectId": "AUTH", "taskId": "AUTH-128", "n": ' + b"9" * 5000 + b"}"


def _post_raw(client, path, data, content_type="application/json", headers=None):
    return client.post(path, data=data, headers={"Content-Type": content_type, **(headers or {})})


def _assert_error(response, status, code):
    body = response.get_json()
    assert response.status_code == status, body
    assert body["ok"] is False and body["error"] == code, body
    assert body["detail"]


def test_deeply_nested_json_on_launch_exchange_is_invalid_json(client):
    _assert_error(_post_raw(client, "/v1/security/launch-exchange", DEEP), 400, "invalid_json")


def test_huge_integer_on_launch_exchange_is_invalid_json(client):
    _assert_error(_post_raw(client, "/v1/security/launch-exchange", HUGE_INT), 400, "invalid_json")


def test_deeply_nested_json_on_forge_route_is_invalid_json_before_hints(jira):
    response = jira.client.post("/v1/jira/request-key", data=DEEP,
                                headers={**jira.auth(), "Content-Type": "application/json"})
    _assert_error(response, 400, "invalid_json")


def test_open_documents_nested_deeper_than_the_limit_are_422(jira):
    deep = {}
    for _ in range(70):
        deep = {"x": deep}
    response = jira.post("/v1/security/vscode-link", json={"projectId": "AUTH", "taskId": "AUTH-128",
                                                           "jiraContext": deep})
    _assert_error(response, 422, "validation_failed")
    assert "jiraContext" in response.get_json()["errors"]


def test_deeply_nested_json_on_permit_route_changes_nothing(client, auth, saved_progress):
    _assert_error(_post_raw(client, "/v1/tasks/AUTH-128/progress", DEEP, headers=auth), 400, "invalid_json")
    assert stored_progress(client, auth) == saved_progress


def test_syntax_error_is_invalid_json(client, auth):
    _assert_error(_post_raw(client, "/v1/tasks/AUTH-128/progress", b'{"ready": [', headers=auth), 400,
                  "invalid_json")


def test_progress_without_body_is_refused_and_keeps_the_document(client, auth, saved_progress):
    response = client.post("/v1/tasks/AUTH-128/progress", headers=auth)
    _assert_error(response, 400, "invalid_json")
    assert stored_progress(client, auth) == saved_progress


def test_progress_with_text_plain_body_is_415_and_keeps_the_document(client, auth, saved_progress):
    response = _post_raw(client, "/v1/tasks/AUTH-128/progress", b'{"ready": []}', "text/plain", auth)
    _assert_error(response, 415, "unsupported_media_type")
    assert "application/json" in response.get_json()["detail"]
    assert stored_progress(client, auth) == saved_progress


def test_json_body_without_content_type_says_so(client, auth):
    response = client.post("/v1/tasks/init", data=b'{"model": "strict light"}', headers=auth)
    _assert_error(response, 415, "unsupported_media_type")
    assert "Content-Type: application/json" in response.get_json()["detail"]


def test_request_key_bootstrap_still_accepts_no_body(jira):
    response = jira.client.post("/v1/jira/request-key", headers=jira.auth())
    assert response.status_code == 200, response.get_json()


def test_write_route_without_body_does_not_consume_the_request_key(jira):
    jira.bootstrap()
    key = jira.key
    response = jira.post("/v1/security/task-permit")
    _assert_error(response, 400, "invalid_json")
    assert jira.key == key
    assert jira.post("/v1/security/task-permit", json={"projectId": "AUTH", "taskId": "AUTH-128"}).status_code == 200


def test_chunked_json_body_over_the_limit_is_413(app, client, auth):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    body = b'{"ready": ["' + b"x" * 4096 + b'"]}'
    response = client.post("/v1/tasks/AUTH-128/progress", input_stream=io.BytesIO(body),
                           environ_overrides={"wsgi.input_terminated": True},
                           headers={**auth, "Content-Type": "application/json", "Transfer-Encoding": "chunked"})
    _assert_error(response, 413, "payload_too_large")


def test_json_body_over_the_limit_is_413(app, client, auth):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/v1/tasks/AUTH-128/progress", json={"ready": ["x" * 4096]}, headers=auth)
    _assert_error(response, 413, "payload_too_large")


def test_top_level_json_that_is_not_an_object_is_422(client, auth, saved_progress):
    response = _post_raw(client, "/v1/tasks/AUTH-128/progress", b"[]", headers=auth)
    _assert_error(response, 422, "validation_failed")
    assert stored_progress(client, auth) == saved_progress


def test_well_formed_progress_is_still_saved(client, auth):
    assert client.post("/v1/tasks/AUTH-128/progress", json=PROGRESS, headers=auth).status_code == 200
    assert stored_progress(client, auth) == PROGRESS


def test_chunked_json_body_over_the_limit_is_413_over_real_http(app, auth):
    import http.client
    import json as jsonlib
    from urllib.parse import urlsplit

    from ..server import serve

    app.config["MAX_CONTENT_LENGTH"] = 1024
    body = b'{"ready": ["' + b"x" * 4096 + b'"]}'
    with serve(app) as base:
        parts = urlsplit(base)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        connection.request("POST", "/v1/tasks/AUTH-128/progress", body=iter([body[:2000], body[2000:]]),
                           headers={**auth, "Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        answer = jsonlib.loads(response.read())
        connection.close()
    assert response.status == 413, answer
    assert answer["error"] == "payload_too_large"
