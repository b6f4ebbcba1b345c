"""The run job on PostgreSQL: each step one statement in autocommit on one connection, so that a run's own
database work on its critical path is a handful of round trips (issue 12), with the same outcome as before."""
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import _connection_base
from sqlalchemy import select

from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs import dispatch, jobs

pytestmark = pytest.mark.backends("postgresql")


@contextmanager
def round_trips(monkeypatch):
    """Every statement and every BEGIN / COMMIT / ROLLBACK that psycopg sends, on any connection."""
    sent = []
    execute, command = psycopg.Cursor.execute, _connection_base.BaseConnection._exec_command

    def counted_execute(cursor, query, *args, **kwargs):
        sent.append(" ".join(str(query).split())[:80])
        return execute(cursor, query, *args, **kwargs)

    def counted_command(connection, sql, *args, **kwargs):
        sent.append(f"[{bytes(sql).decode() if isinstance(sql, bytes) else sql}]")
        return (yield from command(connection, sql, *args, **kwargs))

    with monkeypatch.context() as patch:
        patch.setattr(psycopg.Cursor, "execute", counted_execute)
        patch.setattr(_connection_base.BaseConnection, "_exec_command", counted_command)
        yield sent


@pytest.fixture
def queued(runs, served, funded, monkeypatch):
    """A started run that no executor has picked up yet."""
    monkeypatch.setattr(dispatch, "submit", lambda app, run_id: None)
    return runs.started()


def test_a_job_reaches_succeeded_in_four_statements_and_no_transaction_commands(app, runs, queued, monkeypatch):
    with app.app_context():
        db.session.remove()
        with round_trips(monkeypatch) as sent:
            assert jobs.execute_run(queued) == "succeeded"
    # claim + its log line, processing_remote + its log line, the log for result.zip, succeeded + tokens + log line
    assert len(sent) == 4, sent
    assert runs.status(queued).get_json()["status"]["status"] == "succeeded"
    lines = runs.logs(queued).text.splitlines()
    assert [line.split(" ", 1)[1].split(":", 1)[0] for line in lines] == [
        "queued", "in_process", "processing_remote", "succeeded"]
    with app.app_context():
        usage = db.session.execute(select(UsageRow).where(UsageRow.run_id == queued)).scalar_one()
        assert (usage.type, usage.input_tokens > 0, usage.output_tokens > 0) == ("task_run", True, True)


def test_an_unreachable_database_is_the_same_error_as_through_the_session(app, monkeypatch):
    """RunJob tells the reaper about a database outage by SQLAlchemy's OperationalError; the recorder's raw
    connection must raise that too, not psycopg's own."""
    from sqlalchemy.exc import OperationalError

    from seecodes.runs import recorder

    def refused():
        raise psycopg.OperationalError("connection refused")

    with app.app_context():
        monkeypatch.setattr(db.engine, "raw_connection", refused)
        with pytest.raises(OperationalError):
            recorder.recorder()


def test_a_progress_marker_commits_asynchronously_and_the_setting_ends_with_its_statement(app, queued):
    from seecodes.runs import recorder

    with app.app_context():
        recording = recorder.recorder()
        try:
            assert recording.claim(queued, "host pid 1") is not None
            with recording.executor.connection.cursor() as cursor:
                # what the marker's CTE does, observed inside one statement; and nothing outlives it
                cursor.execute("WITH marker AS (SELECT set_config('synchronous_commit', 'off', true)) "
                               "SELECT current_setting('synchronous_commit') FROM marker")
                assert cursor.fetchone()[0] == "off"
                cursor.execute("SHOW synchronous_commit")
                assert cursor.fetchone()[0] == "on"
        finally:
            recording.close()
    assert "in_process: picked up by host pid 1" in recorder_log(app, queued)


def recorder_log(app, run_id):
    from seecodes.runs import state

    with app.app_context():
        return state.log_text(run_id)


def test_markers_commit_asynchronously_and_success_synchronously(app):
    from seecodes.runs import recorder

    with app.app_context():
        dialect = db.engine.dialect
    asynchronous = {name: "set_config" in getattr(recorder, name).single.compiled(dialect)[0]
                    for name in ("CLAIM", "START_REMOTE", "NOTE", "SUCCEED", "HEARTBEAT")}
    assert asynchronous == {"CLAIM": True, "START_REMOTE": True, "NOTE": True, "SUCCEED": False, "HEARTBEAT": False}


def test_the_job_holds_no_database_connection_while_the_provider_works(app, runs, served, funded, hanging):
    """A provider call can take minutes: the job gives its connection back to the pool for it (on the embedded
    executor the pool is the web process's), and takes one again for the next step."""
    run_id = runs.started(model=hanging)
    assert runs.wait(run_id, until=("processing_remote",))["status"] == "processing_remote"
    with app.app_context():
        assert db.engine.pool.checkedout() == 0
