"""NUL and unpaired surrogates: refused with 422 naming the field on both backends (PostgreSQL cannot store them)."""
import json

import pytest

from ..helpers import VSCODE_LINK_EXAMPLE
from .conftest import stored_progress

NUL, SURROGATE = "\u0000", "\ud800"


def _raw_json(document) -> bytes:
    # json.dumps escapes both as \u0000 / \ud800, exactly what a hostile client sends.
    return json.dumps(document).encode()


def _assert_names(response, *parts):
    """errors is keyed like marshmallow's: the top-level field, then the nested keys/indexes."""
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["error"] == "validation_failed"
    errors = body["errors"]
    for part in parts:
        assert isinstance(errors, dict) and part in errors, body
        errors = errors[part]
    assert isinstance(errors, list) and errors, body


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_progress_line_with_unstorable_text_is_422(client, auth, saved_progress, bad):
    response = client.post("/v1/tasks/AUTH-128/progress", data=_raw_json({"ready": [f"a{bad}b"]}),
                           headers={**auth, "Content-Type": "application/json"})
    _assert_names(response, "ready", "0")
    assert stored_progress(client, auth) == saved_progress


@pytest.mark.parametrize("bad", [NUL, SURROGATE])
def test_jira_context_key_with_unstorable_text_is_422(jira, bad):
    body = {**VSCODE_LINK_EXAMPLE, "userAccountId": jira.principal, "jiraContext": {f"k{bad}": "v"}}
    jira.bootstrap()
    response = jira.post("/v1/security/vscode-link", data=_raw_json(body), headers={"Content-Type": "application/json"})
    _assert_names(response, "jiraContext")


def test_initial_tai_value_with_nul_is_422(jira):
    body = {**VSCODE_LINK_EXAMPLE, "userAccountId": jira.principal, "initialTaiDoc": {"task": {"key": f"A{NUL}"}}}
    response = jira.post("/v1/security/vscode-link", data=_raw_json(body), headers={"Content-Type": "application/json"})
    _assert_names(response, "initialTaiDoc", "task", "key")


def test_raw_surrogate_bytes_are_refused(client, auth):
    # Python's json decodes bytes with surrogatepass: raw ED A0 80 becomes a lone surrogate.
    body = b'{"ready": ["a\xed\xa0\x80"]}'
    response = client.post("/v1/tasks/AUTH-128/progress", data=body, headers={**auth, "Content-Type": "application/json"})
    _assert_names(response, "ready", "0")


def test_index_short_with_nul_is_422(client, auth):
    body = {"entries": {"src/a.ts": {"hash": "a" * 64, "short": f"x{NUL}"}}}
    response = client.post("/v1/projects/AUTH/indexes/upsert", data=_raw_json(body),
                           headers={**auth, "Content-Type": "application/json"})
    _assert_names(response, "entries", "src/a.ts", "short")


def test_user_prompt_with_surrogate_is_422(client, auth):
    response = client.post("/v1/tasks/run_000000000000000000000000/start", data=_raw_json({"userPrompt": f"go{SURROGATE}"}),
                           headers={**auth, "Content-Type": "application/json"})
    _assert_names(response, "userPrompt")


def test_init_file_name_with_surrogate_is_422(client, auth):
    response = client.post("/v1/tasks/init", data=_raw_json({"model": "strict light", "files": [f"a{SURROGATE}.md"]}),
                           headers={**auth, "Content-Type": "application/json"})
    _assert_names(response, "files", "0")


def test_path_parameter_with_nul_is_422(jira):
    response = jira.get("/v1/tasks/AUTH%00/progress?projectId=AUTH")
    _assert_names(response, "taskId")


def test_query_hint_with_nul_is_422(jira):
    jira.bootstrap()
    response = jira.get("/v1/jira/usage?cloudIdHint=x%00y")
    _assert_names(response, "cloudIdHint")


def test_changed_files_with_nul_is_422(client, auth):
    body = {"windowStartedAt": "2026-04-04T10:00:00Z", "windowEndedAt": "2026-04-04T10:15:00Z",
            "changedFiles": [f"src/a{NUL}.ts"]}
    response = client.post("/v1/tasks/activity-snapshot", data=_raw_json(body),
                           headers={**auth, "Content-Type": "application/json"})
    _assert_names(response, "changedFiles", "0")


def test_paired_surrogates_are_ordinary_text(client, auth):
    response = client.post("/v1/tasks/AUTH-128/progress", data=_raw_json({"ready": ["done \U0001F600"]}),
                           headers={**auth, "Content-Type": "application/json"})
    assert response.status_code == 200, response.get_json()
    assert stored_progress(client, auth)["ready"] == ["done \U0001F600"]


@pytest.mark.parametrize("raw,suspect", [
    (json.dumps("a\u0000"), True), (json.dumps("\ud800"), True), (json.dumps("\udc00x"), True),
    ('"\xed\xa0\x80"'.encode("latin-1"), True), (json.dumps("done \U0001F600"), False), ('"plain"', False),
])
def test_raw_pre_test_finds_unstorable_text_and_lets_escaped_pairs_pass(raw, suspect):
    from seecodes.json_input import SUSPECT_BYTES

    raw = raw if isinstance(raw, bytes) else raw.encode()
    assert bool(SUSPECT_BYTES.search(raw)) is suspect


def test_text_problem_reports_keys_at_the_object_holding_them():
    from seecodes.json_input import KEY_MESSAGE, nested_errors, text_problem

    path, message = text_problem({"ctx": {"a": [{"k\u0000": 1}]}})
    assert (path, message) == (("ctx", "a", "0"), KEY_MESSAGE)
    assert nested_errors(path, message) == {"ctx": {"a": {"0": [KEY_MESSAGE]}}}
