"""The job's recording (seecodes.runs.recorder), step by step, through each executor a backend has: the session's
on SQLite and PostgreSQL, the raw connection's on PostgreSQL (the job's own on PostgreSQL, in-process and in
a work horse). Whether the two record the same rows: tests/runs/test_recorder_executors.py."""
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from seecodes import clock, prometheus
from seecodes.catalog.models import CatalogModel
from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs import dispatch, recorder, state
from seecodes.runs.models import (CANCELLED, IN_PROCESS, INITIALIZED, PROCESSING_REMOTE, QUEUED, SUCCEEDED, Run,
                                  RunLogLine)

# Every test names its backend and executor: the connection executor is psycopg's, so SQLite has the session's.
pytestmark = pytest.mark.parametrize("backend, executor", [
    ("sqlite", "session"), ("postgresql", "session"), ("postgresql", "connection")])


def recording(executor) -> recorder.Recorder:
    return recorder.Recorder(recorder.SessionExecutor() if executor == "session" else recorder.ConnectionExecutor())


@pytest.fixture
def steps(app, executor):
    """The recorder under test, in the app's context (as the job has it)."""
    with app.app_context():
        chosen = recording(executor)
        try:
            yield chosen
        finally:
            chosen.close()
            db.session.remove()


@pytest.fixture
def queued(runs, served, funded, monkeypatch):
    """A started (debited) run that no job has picked up."""
    monkeypatch.setattr(dispatch, "submit", lambda app, run_id: None)
    return runs.started()


def run_row(app, run_id):
    with app.app_context():
        try:
            return db.session.execute(select(Run).where(Run.id == run_id)).scalar_one()
        finally:
            db.session.expunge_all()
            db.session.remove()


def lines(app, run_id):
    with app.app_context():
        try:
            return db.session.execute(select(RunLogLine.line).where(RunLogLine.run_id == run_id)
                                      .order_by(RunLogLine.id)).scalars().all()
        finally:
            db.session.remove()


def usage(app, run_id):
    with app.app_context():
        try:
            return db.session.execute(select(UsageRow.type, UsageRow.input_tokens, UsageRow.output_tokens)
                                      .where(UsageRow.run_id == run_id).order_by(UsageRow.id)).all()
        finally:
            db.session.remove()


def settle(app, action, *args):
    """Another actor's transaction (the user's cancel, the reaper's failure), committed."""
    with app.app_context():
        try:
            assert action(*args)
            db.session.commit()
        finally:
            db.session.remove()


def transitions(source, target) -> float:
    return prometheus.RUN_TRANSITIONS.labels(source, target)._value.get()


def test_a_claim_moves_a_queued_run_once_answers_its_inputs_and_logs_who_took_it(app, runs, queued, steps):
    counted = transitions(QUEUED, IN_PROCESS)
    claimed = steps.claim(queued, "host pid 1")
    assert claimed is not None and steps.claim(queued, "host pid 2") is None
    run = run_row(app, queued)
    assert (claimed.id, claimed.model_id, claimed.files, claimed.provider) == (queued, run.model_id, run.files,
                                                                              "default")
    assert isinstance(claimed.provider_config, dict) and claimed.user_prompt == "generate change log"
    assert claimed.estimated_input_tokens == run.estimated_input_tokens > 0
    assert claimed.input_versions == run.input_versions and set(run.input_versions) == {"list.md"}
    assert (run.status, run.attempts) == (IN_PROCESS, 1)
    assert run.started_at == run.heartbeat_at == run.updated_at is not None
    assert lines(app, queued)[-1] == "in_process: picked up by host pid 1"
    assert transitions(QUEUED, IN_PROCESS) == counted + 1  # once, and committed


@pytest.mark.parametrize("status", [INITIALIZED, SUCCEEDED])
def test_a_claim_takes_only_a_queued_run_and_changes_nothing_else(app, runs, served, funded, steps, status):
    run_id = runs.started() if status == SUCCEEDED else runs.init().get_json()["runId"]
    if status == SUCCEEDED:
        assert runs.wait(run_id)["status"] == SUCCEEDED
    before = lines(app, run_id)
    assert steps.claim(run_id, "host pid 1") is None
    assert (run_row(app, run_id).status, lines(app, run_id)) == (status, before)


def test_a_claim_says_when_the_runs_model_left_the_catalog(app, queued, steps):
    with app.app_context():
        model_id = db.session.get(Run, queued).model_id
        db.session.execute(CatalogModel.__table__.delete().where(CatalogModel.id == model_id))
        db.session.commit()
    claimed = steps.claim(queued, "host pid 1")
    assert (claimed.model_id, claimed.provider, claimed.provider_config) == (model_id, None, None)


def test_processing_remote_follows_only_the_claim_with_its_line(app, queued, steps):
    assert steps.start_remote(queued, "processing_remote: too early") is False
    assert run_row(app, queued).status == QUEUED and "processing_remote: too early" not in lines(app, queued)
    assert steps.claim(queued, "host pid 1")
    assert steps.start_remote(queued, "processing_remote: calling the provider") is True
    assert steps.start_remote(queued, "processing_remote: again") is False
    assert run_row(app, queued).status == PROCESSING_REMOTE
    assert lines(app, queued)[-1] == "processing_remote: calling the provider"


def test_a_note_is_readable_by_others_as_soon_as_it_returns(app, queued, steps):
    steps.note(queued, "provider: attempt 1 failed (timeout); retrying")
    assert lines(app, queued)[-1] == "provider: attempt 1 failed (timeout); retrying"
    assert steps.log_text(queued).endswith(" provider: attempt 1 failed (timeout); retrying\n")


def test_the_log_text_is_the_runs_log_as_the_routes_serve_it(app, runs, queued, steps):
    steps.claim(queued, "host pid 1")
    assert steps.log_text(queued) == runs.logs(queued).text
    assert steps.status(queued) == IN_PROCESS and steps.status("run_" + "0" * 24) is None


def test_success_records_the_outputs_the_token_counts_and_the_last_line_together(app, queued, steps):
    assert steps.claim(queued, "host pid 1") and steps.start_remote(queued, "processing_remote: calling")
    finished = clock.now()
    assert steps.succeed(queued, "succeeded: done", output_key="out/key", result_zip_key="zip/key", input_tokens=12,
                         output_tokens=34, finished_at=finished) is True
    run = run_row(app, queued)
    assert (run.status, run.output_key, run.result_zip_key, run.input_tokens, run.output_tokens) == (
        SUCCEEDED, "out/key", "zip/key", 12, 34)
    assert run.finished_at == run.updated_at == finished
    assert usage(app, queued) == [("task_run", 12, 34)]
    assert lines(app, queued)[-1] == "succeeded: done"


def test_success_after_a_cancel_is_refused_and_writes_neither_tokens_nor_a_line(app, queued, steps):
    assert steps.claim(queued, "host pid 1") and steps.start_remote(queued, "processing_remote: calling")
    settle(app, state.cancel, queued)
    assert steps.succeed(queued, "succeeded: too late", output_key="o", result_zip_key="z", input_tokens=12,
                         output_tokens=34, finished_at=clock.now()) is False
    run = run_row(app, queued)
    assert (run.status, run.output_key, run.input_tokens) == (CANCELLED, None, None)
    assert usage(app, queued) == [("task_run", None, None), ("refund", None, None)]
    assert lines(app, queued)[-1] == "cancelled by the user; credits refunded"


def test_the_heartbeat_refreshes_an_active_run_and_tells_the_job_when_it_was_settled_elsewhere(app, queued, steps):
    assert steps.claim(queued, "host pid 1")
    claimed_at = run_row(app, queued).heartbeat_at
    clock.travel(timedelta(seconds=10))
    assert steps.heartbeat(queued) is True
    beat = run_row(app, queued).heartbeat_at
    assert beat - claimed_at >= timedelta(seconds=10)
    settle(app, state.fail, queued, "The run's job was lost; credits refunded.")
    clock.travel(timedelta(seconds=10))
    assert steps.heartbeat(queued) is False  # the job stops working on it
    assert run_row(app, queued).heartbeat_at == beat


def test_a_step_the_database_refuses_raises_sqlalchemys_error_and_leaves_nothing_behind(app, queued, steps):
    with pytest.raises(IntegrityError):
        steps.note("run_" + "0" * 24, "a line for no run")  # the log's foreign key
    assert steps.claim(queued, "host pid 1") is not None  # the recorder goes on
    with app.app_context():
        assert db.session.execute(select(RunLogLine).where(RunLogLine.line == "a line for no run")).first() is None
