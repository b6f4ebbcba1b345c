"""The reaper behind PgBouncer in transaction pooling mode: the periodic maintenance pass (its lock and the
reaper's statements), reaching the database only through PgBouncer, fails and refunds the run of a worker
that was killed mid-run, pass after pass, and leaves no lock behind."""
import logging
import time

import pytest
from sqlalchemy import create_engine, text

from seecodes import scheduler
from seecodes.extensions import db

from ..conftest import PG_URL, make_app
from ..production import production_overrides
from ..runs.faults import killed_mid_run
from ..runs.test_faults_reaper import FAST_ENV
from .conftest import APP_DB

pytestmark = pytest.mark.slow

STALE, PAUSE, LIMIT = 3, 0.05, 20


@pytest.fixture
def app_overrides(moto_url, redis_db):
    """The test's own requests go straight to PostgreSQL: under test is the reaper's way through PgBouncer."""
    return production_overrides(moto_url)


@pytest.fixture
def bounced_app(pgbouncer, moto_url, forge_keys, tmp_path):
    """The app of a process whose database is reached through PgBouncer, with the test's reaper settings."""
    instance = tmp_path / "bounced"
    instance.mkdir()
    bounced = make_app(instance, forge_keys, pgbouncer.url(APP_DB), **production_overrides(moto_url),
                       SEECODES_RUN_STALE_SECONDS=STALE, SEECODES_RUN_HEARTBEAT_SECONDS=1)
    yield bounced
    with bounced.app_context():
        db.engine.dispose()


def advisory_locks_held() -> int:
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as connection:
            return connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar()
    finally:
        engine.dispose()


def test_the_reaper_repairs_a_dead_workers_run_through_transaction_pooling(app, runs, funded, hanging, credits_of,
                                                                           moto_url, pgbouncer, bounced_app,
                                                                           tmp_path, caplog):
    """Every pass takes the maintenance lock and reaps; a pass every PAUSE seconds puts each of its statements
    past psycopg's prepare threshold (5 executions on a connection) long before the run goes stale."""
    env = {**FAST_ENV, "SEECODES_RUN_STALE_SECONDS": str(STALE), "DATABASE_URL": pgbouncer.url(APP_DB)}
    run_id, _ = killed_mid_run(app, runs, hanging, moto_url, tmp_path, "runs-pgbouncer-doomed", **env)
    maintenance = scheduler.Scheduler(bounced_app, [task for task in bounced_app.extensions[scheduler.TASKS_KEY]
                                                    if task.name == "runs.reap"])
    caplog.set_level(logging.WARNING, logger="seecodes.scheduler")
    calls, deadline = 0, time.monotonic() + LIMIT
    pgbouncer.open_server_connections(APP_DB, 2)
    with pgbouncer.neighbour(APP_DB):
        while runs.status(run_id).get_json()["status"]["status"] != "failed" and time.monotonic() < deadline:
            maintenance.run_task(maintenance.tasks[0])
            calls += 1
            time.sleep(PAUSE)
    status = runs.status(run_id).get_json()["status"]
    assert status["status"] == "failed" and "stopped responding" in status["error"], caplog.text[-3000:]
    assert credits_of(funded) == 1000
    assert calls > 10 and maintenance.passes.get("runs.reap") == calls, (calls, maintenance.passes, caplog.text[-3000:])
    assert "scheduled task runs.reap failed" not in caplog.text
    assert advisory_locks_held() == 0
