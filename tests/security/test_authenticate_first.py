"""Authenticate before validating: without a valid credential every authenticated route answers 401, whatever
its body or query string holds (NUL, lone surrogates, broken or deeply nested JSON), so an anonymous caller
learns nothing of a route's validation; and the HTML launcher's refusals are its documented 400."""
import pytest

from ..helpers import assert_envelope

SAMPLE_PATH_VALUES = {"runId": "run_" + "0" * 24, "taskId": "AUTH-128", "projectId": "AUTH"}
HOSTILE_BODIES = [
    b'{"model":"a\\ud800"}',
    b'{"model":"a\\u0000b","files":["list.md"]}',
    b'{"entries":{"a\\udc00":{"hash":"x"}}}',
    b'{"ready":["\xed\xa0\x80"]}',  # a raw surrogate's bytes
    b"[" * 5000 + b"]" * 5000,
    b'{"n":' + b"9" * 5000 + b"}",
    b'{"model":',
    b"\xff\xfe",
]
HOSTILE_QUERIES = ["projectId=%00", "cloudIdHint=a%00b", "startDate=%ED%A0%80", "x=%00"]
CREDENTIALS = [None, "Bearer not-a-token"]


def _authenticated_routes(app) -> list[tuple[str, str]]:
    """(method, path) of every route a credential guard protects, read from the app's url_map."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            handler = getattr(getattr(view, "view_class", None), method.lower(), view)
            if (getattr(handler, "_apidoc", None) or {}).get("manual_doc", {}).get("security"):
                path = rule.rule
                for name, value in SAMPLE_PATH_VALUES.items():
                    path = path.replace(f"<run_id:{name}>", value).replace(f"<string:{name}>", value)
                assert "<" not in path, f"no sample value for {rule.rule}"
                found.append((method, path))
    return found


def test_the_url_map_has_authenticated_routes_of_each_guard(app):
    routes = _authenticated_routes(app)
    assert ("POST", "/v1/jira/request-key") in routes and ("POST", "/v1/tasks/init") in routes
    assert ("GET", "/v1/tasks/AUTH-128/progress") in routes and len(routes) >= 18


def test_every_authenticated_route_answers_401_to_a_hostile_body_without_a_credential(app, client):
    wrong = []
    for method, path in _authenticated_routes(app):
        for body in HOSTILE_BODIES:
            for credential in CREDENTIALS:
                headers = {"Authorization": credential} if credential else {}
                answer = client.open(path, method=method, data=body, content_type="application/json",
                                     headers=headers)
                if answer.status_code != 401:
                    wrong.append((method, path, body[:30], credential, answer.status_code))
    assert wrong == []


def test_every_authenticated_route_answers_401_to_a_hostile_query_without_a_credential(app, client):
    wrong = []
    for method, path in _authenticated_routes(app):
        for query in HOSTILE_QUERIES:
            answer = client.open(f"{path}?{query}", method=method)
            if answer.status_code != 401:
                wrong.append((method, path, query, answer.status_code))
    assert wrong == []


def test_a_lone_surrogate_with_a_permit_is_still_refused_as_unstorable(client, auth):
    answer = client.post("/v1/tasks/init", data=b'{"model":"a\\ud800","files":["list.md"]}',
                         content_type="application/json", headers=auth)
    body = assert_envelope(answer, 422, "validation_failed")
    assert "model" in body["errors"]


def test_broken_json_with_a_permit_is_still_400_invalid_json(client, auth):
    answer = client.post("/v1/tasks/init", data=b"[" * 5000, content_type="application/json", headers=auth)
    assert_envelope(answer, 400, "invalid_json")


def test_a_nul_in_a_query_with_a_credential_is_still_refused(client, auth):
    answer = client.get("/v1/tasks/AUTH-128/progress?projectId=AU%00TH", headers=auth)
    assert answer.status_code == 422, answer.get_json()


@pytest.mark.parametrize("query", [
    "p=AU%00TH&t=AUTH-128&c=sc_launch_abc",
    "p=AUTH&t=AUTH%00-128&c=sc_launch_abc",
    "p=AUTH&t=AUTH-128&c=sc_launch_abc&baseUrl=http://x%00",
    "p=AUTH&t=AUTH-128&c=sc_launch_abc&statusLanguage=en%00",
    "p=AUTH&t=AUTH-128&c=sc_launch_abc&statusLanguage=%ED%A0%80",
])
def test_the_launcher_answers_400_for_nul_or_a_surrogate(client, query):
    answer = client.get(f"/v1/launch?{query}")
    assert answer.status_code == 400, (answer.status_code, answer.get_data(as_text=True)[:300])
    assert answer.get_json()["error"] in {"bad_request", "validation_failed"}
