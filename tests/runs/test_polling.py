"""Cheap polling: an ETag on the status and the log, 304 for If-None-Match without building (or writing)
anything, Retry-After while the run works, and the log read from a byte offset so each line arrives once."""

import pytest

from seecodes.runs import dispatch

from ..helpers import assert_envelope

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")


def _get(runs, path, **headers):
    return runs.client.get(path, headers={**runs.headers, **headers})


def test_a_status_poll_with_the_current_tag_is_304_and_writes_nothing(runs, statements):
    run_id = runs.init().get_json()["runId"]
    first = runs.status(run_id)
    tag = first.headers["ETag"]
    assert tag.startswith('W/"') and "Retry-After" not in first.headers  # waits for its start: no poll cadence
    statements.clear()
    again = _get(runs, f"/v1/tasks/{run_id}", **{"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == tag
    assert statements and set(statements) <= {"SELECT", "BEGIN", "ROLLBACK", "COMMIT", "SET"}, statements


def test_the_status_tag_changes_with_the_run_and_a_stale_tag_gets_the_answer(runs, served, funded, monkeypatch):
    monkeypatch.setattr(dispatch, "enqueue", lambda run_id: None)  # stays queued
    run_id, _ = runs.prepared()
    tag = runs.status(run_id).headers["ETag"]
    assert runs.start(run_id).status_code == 200
    answer = _get(runs, f"/v1/tasks/{run_id}", **{"If-None-Match": tag})
    assert answer.status_code == 200 and answer.headers["ETag"] != tag
    assert answer.get_json()["status"]["status"] == "queued"
    assert int(answer.headers["Retry-After"]) >= 1  # working: the documented poll cadence


def test_a_304_still_checks_the_permit_and_its_binding(runs, client, jira):
    run_id = runs.init().get_json()["runId"]
    tag = runs.status(run_id).headers["ETag"]
    assert_envelope(client.get(f"/v1/tasks/{run_id}", headers={"If-None-Match": tag}), 401, "credential_missing")
    other = {"Authorization": f"Bearer {jira.permit('AUTH', 'AUTH-999')}", "If-None-Match": tag}
    assert_envelope(client.get(f"/v1/tasks/{run_id}", headers=other), 403, "permit_binding_mismatch")


def test_the_log_is_followed_by_byte_offset_and_each_line_arrives_once(runs, served, funded, add_model,
                                                                       fake_openai):
    model = add_model("fake slowish", config=fake_openai.config("sleep0.3"))  # lines arrive over time
    run_id = runs.started(model=model)
    received, offset, tag, downloaded = b"", 0, None, 0
    for _ in range(3000):
        settled = runs.status(run_id).get_json()["status"]["status"] in ("succeeded", "failed")
        headers = {"Range": f"bytes={offset}-"}
        if tag:
            headers["If-None-Match"] = tag
        answer = _get(runs, f"/v1/tasks/{run_id}/logs", **headers)
        assert answer.status_code in (206, 304, 416), answer.status_code
        if answer.status_code == 206:
            assert answer.headers["Content-Range"].startswith(f"bytes {offset}-")
            received += answer.data
            offset += len(answer.data)
            downloaded += len(answer.data)
            tag = answer.headers["ETag"]
        if settled and answer.status_code in (304, 416):  # nothing new after the run settled: the log is whole
            break
    full = runs.logs(run_id).data
    assert received == full and downloaded == len(full)
    assert full.count(b"\n") >= 4 and b"succeeded: provider answered" in full


def test_a_range_past_the_end_is_416_with_the_length(runs):
    run_id = runs.init().get_json()["runId"]
    whole = runs.logs(run_id).data
    answer = _get(runs, f"/v1/tasks/{run_id}/logs", Range=f"bytes={len(whole)}-")
    body = assert_envelope(answer, 416, "range_not_satisfiable")
    assert answer.headers["Content-Range"] == f"bytes */{len(whole)}" and body["requestId"]
