"""The run flow on the embedded default (in-process executor, local storage) on SQLite and PostgreSQL, and on the
production deployment (RQ worker subprocess, S3)."""
import io
import zipfile

import pytest
import requests

from seecodes import storage
from seecodes.runs import rules

from ..contract_examples import RUN_START_EXAMPLE as EXAMPLE_START
from ..helpers import assert_envelope, bearer
from .conftest import LIST_MD

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")


def test_whole_flow_offline_over_real_http(app, runs, served, funded, credits_of, usage_of):
    init = runs.init()
    assert init.status_code == 200
    document = init.get_json()
    run_id = document["runId"]
    assert document["ok"] is True and set(document["uploads"]) == {"list.md"}
    assert document["prefix"] == f"runs/{run_id}/input/" and document["bucket"] == storage.get(app).bucket
    assert runs.send(document, "list.md", LIST_MD).status_code in (200, 204)

    started = runs.start(run_id)
    assert started.status_code == 200
    answer = started.get_json()
    tokens = rules.estimate_input_tokens({"list.md": len(LIST_MD)}, EXAMPLE_START["userPrompt"])
    assert answer == {"ok": True, "runId": run_id, "status": "queued", "estimatedInputTokens": tokens,
                      "estimatedCredits": rules.price(12.5, 0.0006, tokens)}
    assert credits_of(funded) == 1000 - answer["estimatedCredits"]
    assert usage_of(run_id) == [("task_run", answer["estimatedCredits"], "AUTH-128", "557058:alice")]

    status = runs.wait(run_id)
    assert status["status"] == "succeeded" and status["updatedAt"].endswith("Z") and "error" not in status

    output = runs.output(run_id)
    assert output.status_code == 200 and output.mimetype == "text/plain"
    assert "no AI model was called" in output.text and "Callback validation" in output.text

    archive = zipfile.ZipFile(io.BytesIO(requests.get(status["resultZipUrl"], timeout=10).content))
    assert sorted(archive.namelist()) == ["log.txt", "output.md"]
    assert archive.read("output.md").decode() == output.text
    zipped_log = archive.read("log.txt").decode().splitlines()
    served_log = runs.logs(run_id).text.splitlines()
    # The zip is written just before the final line is stored, so only that line's timestamp may differ.
    assert zipped_log[:-1] == served_log[:-1]
    assert zipped_log[-1].split(" ", 1)[1] == served_log[-1].split(" ", 1)[1]
    assert zipped_log[-1].split(" ", 1)[1].startswith("succeeded")


def test_logs_name_the_phases_and_provider(runs, served, funded):
    run_id = runs.started()
    runs.wait(run_id)
    logs = runs.logs(run_id)
    assert logs.status_code == 200 and logs.mimetype == "text/plain"
    text = logs.text
    for phase in ("queued:", "in_process:", "processing_remote:", "succeeded:", "offline"):
        assert phase in text


def test_init_defaults_files_to_list_md(runs):
    answer = runs.init({"model": "strict light"})
    assert answer.status_code == 200
    assert list(answer.get_json()["uploads"]) == ["list.md"]


@pytest.mark.parametrize("files", [
    ["../list.md"], ["a/b.md"], ["a\\b.md"], [""], ["."], [".."], ["x" * 256], ["a\x00b"], ["tab\there"],
    ["list.md", "list.md"], [f"f{i}.md" for i in range(21)], [], [42],
], ids=["traversal", "slash", "backslash", "empty", "dot", "dotdot", "too-long", "nul", "control", "duplicate",
        "too-many", "none", "not-a-string"])
@pytest.mark.backends("sqlite")  # a rule on the body: no database or deployment changes it
def test_init_refuses_unacceptable_file_names(runs, files):
    assert "files" in assert_envelope(runs.init({"model": "strict light", "files": files}), 422,
                                      "validation_failed")["errors"]


def test_init_accepts_a_name_of_255_characters(runs):
    assert runs.init({"model": "strict light", "files": ["x" * 255]}).status_code == 200


def test_init_refuses_an_unknown_model(runs):
    assert "model" in assert_envelope(runs.init({"model": "no such model"}), 422, "validation_failed")["errors"]


def test_start_before_uploads_is_409_naming_the_missing_files(runs, served, funded):
    document = runs.init({"model": "strict light", "files": ["list.md", "notes.md"]}).get_json()
    assert runs.send(document, "list.md", LIST_MD).status_code in (200, 204)
    assert assert_envelope(runs.start(document["runId"]), 409, "uploads_incomplete")["missingFiles"] == ["notes.md"]


def test_second_start_is_409(runs, served, funded):
    run_id = runs.started()
    assert_envelope(runs.start(run_id), 409, "run_already_started")


def test_start_without_enough_credits_is_402_and_charges_nothing(runs, served, installation_id, credits_of,
                                                                 usage_of, grant):
    run_id, _ = runs.prepared()
    assert_envelope(runs.start(run_id), 402, "insufficient_credits")
    assert credits_of(installation_id) == 0 and usage_of(run_id) == []
    assert runs.status(run_id).get_json()["status"]["status"] == "initialized"
    grant(installation_id, 100)
    assert runs.start(run_id).status_code == 200


def test_input_beyond_the_models_context_is_413(runs, served, funded, add_model):
    add_model("tiny", provider="offline", max_context=50)
    run_id, _ = runs.prepared({"big.md": b"word " * 200}, model="tiny")
    assert assert_envelope(runs.start(run_id, {"userPrompt": "summarise"}), 413, "input_exceeds_context")["maxContext"] == 50


def test_start_naming_another_model_is_422(runs, served, funded):
    run_id, _ = runs.prepared()
    answer = runs.start(run_id, {"model": "other", "userPrompt": "x"})
    assert "model" in assert_envelope(answer, 422, "validation_failed")["errors"]


def test_output_is_409_until_the_run_succeeded(runs, served):
    run_id, _ = runs.prepared()
    assert_envelope(runs.output(run_id), 409, "run_not_succeeded")


def test_status_of_a_new_run_is_initialized(runs):
    run_id = runs.init().get_json()["runId"]
    status = runs.status(run_id).get_json()
    assert status["ok"] is True and status["status"]["status"] == "initialized"


def test_a_permit_of_another_task_gets_403(runs, client, jira):
    run_id = runs.init().get_json()["runId"]
    other = jira.permit(task_id="AUTH-129")
    for path in (f"/v1/tasks/{run_id}", f"/v1/tasks/{run_id}/logs", f"/v1/tasks/{run_id}/output"):
        assert_envelope(client.get(path, headers=bearer(other)), 403, "permit_binding_mismatch")
    assert_envelope(client.post(f"/v1/tasks/{run_id}/start", json={}, headers=bearer(other)), 403,
                    "permit_binding_mismatch")


def test_a_permit_of_another_tenant_gets_404(runs, client, signer):
    import uuid

    from ..conftest import new_installation_id
    from ..helpers import JiraSession

    run_id = runs.init().get_json()["runId"]
    stranger = JiraSession(client, signer, new_installation_id(), str(uuid.uuid4()), "557058:mallory").permit()
    assert_envelope(client.get(f"/v1/tasks/{run_id}", headers=bearer(stranger)), 404, "run_not_found")


def test_an_unknown_run_is_404(runs):
    assert_envelope(runs.status("run_" + "0" * 24), 404, "run_not_found")
    # A malformed id matches no route (the runId converter): a plain 404 in the envelope.
    assert_envelope(runs.status("not-a-run-id"), 404, "not_found")
