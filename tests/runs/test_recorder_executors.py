"""The two executors of the job's recording record the same thing: one run driven through the session's executor
and one through the raw connection's, step for step at the same moments, leave the same rows and get the same
answers (PostgreSQL, the only database that has both); and a run recorded by a real work horse (the
connection executor with the statements compiled before the fork) ends like one recorded through the session."""
import logging
import re
from datetime import datetime

import pytest
from sqlalchemy import select

from seecodes import clock
from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs import dispatch, jobs, recorder, state
from seecodes.runs.models import Run, RunLogLine

MOMENTS = [datetime(2026, 4, 4, 12, 0, second) for second in range(0, 60, 5)]
# What an executor does not write: set at init and start, or naming the run.
NOT_RECORDED = {"id", "storage_prefix", "created_at", "queued_at", "request_id", "input_versions"}


def executed(executor):
    return recorder.Recorder(recorder.SessionExecutor() if executor == "session" else recorder.ConnectionExecutor())


def rows_of(app, run_id):
    """Everything the recording can touch: the run's row, its log lines after the start's, its usage rows."""
    with app.app_context():
        try:
            run = db.session.execute(select(Run.__table__).where(Run.id == run_id)).one()._asdict()
            log = db.session.execute(select(RunLogLine.logged_at, RunLogLine.line).where(RunLogLine.run_id == run_id)
                                     .order_by(RunLogLine.id)).all()
            usage = db.session.execute(select(UsageRow.type, UsageRow.credits, UsageRow.input_tokens,
                                              UsageRow.output_tokens).where(UsageRow.run_id == run_id)
                                       .order_by(UsageRow.id)).all()
        finally:
            db.session.remove()
    return ({name: value for name, value in run.items() if name not in NOT_RECORDED},
            [tuple(line) for line in log[1:]], [tuple(row) for row in usage])


def drive(app, run_id, executor, scenario, monkeypatch):
    """Run `scenario(recorder, run_id)` with the clock stepping through MOMENTS; answers what each step answered,
    with the run's id taken out."""
    moments = iter(MOMENTS)
    with monkeypatch.context() as patch, app.app_context():
        patch.setattr(clock, "now", lambda: next(moments))
        steps = executed(executor)
        try:
            answers = scenario(steps, run_id)
        finally:
            steps.close()
            db.session.remove()
    return [tuple(answer) if isinstance(answer, tuple) else answer for answer in answers], rows_of(app, run_id)


def succeeded(steps, run_id):
    claimed = steps.claim(run_id, "host pid 1")
    # (the inputs' versions name the stored objects, which differ between two runs)
    return [claimed._replace(id=None, input_versions=sorted(claimed.input_versions)), steps.status(run_id), steps.heartbeat(run_id),
            steps.start_remote(run_id, "processing_remote: calling"),
            steps.note(run_id, "provider: attempt 1 failed; retrying"), steps.note(run_id, "provider: answered"),
            steps.log_text(run_id).count("\n"),
            steps.succeed(run_id, "succeeded: done", output_key="o", result_zip_key="z", input_tokens=12,
                          output_tokens=34, finished_at=MOMENTS[-1]),
            # and everything after success is refused
            steps.claim(run_id, "host pid 2"), steps.start_remote(run_id, "again"), steps.heartbeat(run_id),
            steps.succeed(run_id, "succeeded: twice", output_key="o2", result_zip_key="z2", input_tokens=1,
                          output_tokens=1, finished_at=MOMENTS[-1]),
            steps.status(run_id)]


def cancelled_in_flight(steps, run_id):
    answers = [steps.claim(run_id, "host pid 1") is not None, steps.start_remote(run_id, "processing_remote: x")]
    assert state.cancel(run_id)  # the user's cancel, in the session of the same app context
    db.session.commit()
    return answers + [steps.heartbeat(run_id), steps.note(run_id, "provider: still answering"),
                      steps.succeed(run_id, "succeeded: too late", output_key="o", result_zip_key="z",
                                    input_tokens=12, output_tokens=34, finished_at=MOMENTS[-1]),
                      steps.status(run_id)]


@pytest.mark.backends("postgresql")
@pytest.mark.parametrize("scenario", [succeeded, cancelled_in_flight])
def test_the_session_and_the_connection_record_a_run_alike(app, runs, served, funded, monkeypatch, scenario):
    monkeypatch.setattr(dispatch, "submit", lambda app, run_id: None)
    through_session, through_connection = runs.started(), runs.started()
    session_answers, session_rows = drive(app, through_session, "session", scenario, monkeypatch)
    connection_answers, connection_rows = drive(app, through_connection, "connection", scenario, monkeypatch)
    assert session_answers == connection_answers
    assert session_rows == connection_rows
    assert session_rows[1], "the scenario recorded log lines"


def _normalised(app, run_id):
    """A run's recorded rows with what differs between two real runs of the same inputs (moments, the worker's
    host and pid, the provider's time, the run id in keys) taken out."""
    run, log, usage = rows_of(app, run_id)
    run = {name: (value is not None if isinstance(value, datetime) else value) for name, value in run.items()}
    run["output_key"], run["result_zip_key"] = (None if key is None else key.replace(run_id, "RUN")
                                                for key in (run["output_key"], run["result_zip_key"]))
    lines = [re.sub(r"picked up by .*", "picked up by WORKER", re.sub(r"answered in [0-9.]+ s", "answered", line))
             for _, line in log]
    return run, lines, usage


@pytest.mark.backends("production")
def test_a_work_horse_records_a_run_as_the_session_does(app, runs, served, funded, monkeypatch):
    by_horse = runs.started()
    assert runs.wait(by_horse)["status"] == "succeeded"
    monkeypatch.setattr(dispatch, "enqueue", lambda run_id: None)  # the next run is for this process only
    by_session = runs.started()
    monkeypatch.setattr(recorder, "recorder", lambda: recorder.Recorder(recorder.SessionExecutor()))
    with app.app_context():
        assert jobs.execute_run(by_session) == "succeeded"
    assert _normalised(app, by_horse) == _normalised(app, by_session)
    assert runs.output(by_horse).data == runs.output(by_session).data


@pytest.mark.backends("postgresql")
def test_the_worker_compiles_every_statement_before_it_forks_so_a_horse_compiles_none(app, runs, served, funded,
                                                                                       monkeypatch):
    monkeypatch.setattr(dispatch, "submit", lambda app, run_id: None)
    run_id = runs.started()
    for statement in recorder.STATEMENTS:  # as in a fresh worker process
        monkeypatch.setattr(statement, "sql", None)
    jobs.warm_up(app)
    for statement in recorder.STATEMENTS:  # a horse that had to build or compile one would fail here
        assert statement.sql is not None
        monkeypatch.setattr(statement, "statement", None)
    _, (run, _, usage) = drive(app, run_id, "connection", succeeded, monkeypatch)
    assert (run["status"], usage[0][2:]) == ("succeeded", (12, 34))


def test_the_workers_warm_up_runs_every_step_and_writes_nothing(app, backend, caplog):
    with caplog.at_level(logging.WARNING, logger=jobs.log.name):
        jobs.warm_up(app)
    assert not caplog.records  # a step that failed would only be logged
    with app.app_context():
        assert db.session.execute(select(RunLogLine).where(RunLogLine.line == "warm-up")).first() is None
        assert db.session.execute(select(Run)).first() is None
