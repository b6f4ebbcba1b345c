"""No run waits on a worker that does not exist: the API processes (gunicorn) and the supervisors of live workers
reap on a fixed period, so a run whose worker died is failed and refunded within the stale age plus one reap
interval; a job that failed because the database was down does not use up the run's re-queues."""
import time

import pytest
from rq.job import Job, JobStatus
from sqlalchemy import select

from seecodes.extensions import db
from seecodes.runs.models import Run

from ..conftest import REDIS_URL
from .conftest import WorkerProcess, production_overrides, reap_now
from .faults import Gunicorn, free_port, killed_mid_run, production_env, use_queue, wait_for

STALE, INTERVAL, HEARTBEAT = 3, 1, 1
FAST = {"SEECODES_RUN_STALE_SECONDS": STALE, "SEECODES_REAP_INTERVAL_SECONDS": INTERVAL,
        "SEECODES_RUN_HEARTBEAT_SECONDS": HEARTBEAT, "SEECODES_WORKER_HEARTBEAT_SECONDS": HEARTBEAT}
FAST_ENV = {name: str(value) for name, value in FAST.items()}  # as a worker process's environment


@pytest.fixture
def backend():
    return "postgresql"


@pytest.fixture
def app_overrides(moto_url, redis_db):
    return production_overrides(moto_url)


def silence_before_failing(app, run_id) -> float:
    """Seconds between the run's last heartbeat and its failure, both stamped by the processes involved (the
    dead worker's horse, the reaper): the test's own start-up and polling delays are not in it."""
    with app.app_context():
        heartbeat, finished = db.session.execute(
            select(Run.heartbeat_at, Run.finished_at).where(Run.id == run_id)).one()
    return (finished - heartbeat).total_seconds()


def assert_reaped_by(reaper, app, runs, funded, hanging, credits_of, moto_url, tmp_path, queue):
    """With `reaper` (a process that reaps) alive, the run of a worker killed mid-run is failed and refunded once
    its heartbeat is older than the stale age, by that process: the test only polls the run's status (bounded
    generously: a loaded machine delays processes, not the rule)."""
    try:
        run_id, killed_at = killed_mid_run(app, runs, hanging, moto_url, tmp_path, queue, **FAST_ENV)
        status = runs.wait(run_id, limit=STALE + INTERVAL + 60)
        seen_after = time.monotonic() - killed_at
    finally:
        reaper.stop()
    assert status["status"] == "failed" and "stopped responding" in status["error"], reaper.output()
    silence = silence_before_failing(app, run_id)
    print(f"measured: failed {silence:.1f} s after the last heartbeat, seen {seen_after:.1f} s after the kill")
    assert silence >= STALE  # not before its heartbeat was stale
    assert credits_of(funded) == 1000


@pytest.mark.slow
def test_the_api_alone_fails_and_refunds_a_run_whose_worker_died(app, runs, funded, hanging, credits_of, moto_url,
                                                                  tmp_path):
    api = Gunicorn(tmp_path, production_env(tmp_path, moto_url, REDIS_URL, WEB_CONCURRENCY=2, **FAST))
    assert_reaped_by(api, app, runs, funded, hanging, credits_of, moto_url, tmp_path, "runs-no-worker")


@pytest.mark.slow
def test_a_live_worker_fails_and_refunds_the_run_of_a_dead_one(app, runs, funded, hanging, credits_of, moto_url,
                                                               tmp_path):
    (tmp_path / "survivor").mkdir()
    survivor = WorkerProcess(tmp_path / "survivor", moto_url, SEECODES_RUN_QUEUE="runs-survivor", **FAST_ENV)
    assert_reaped_by(survivor, app, runs, funded, hanging, credits_of, moto_url, tmp_path, "runs-dead-worker")


@pytest.mark.slow
def test_database_outages_do_not_use_up_a_queued_runs_requeues(app, runs, funded, moto_url, tmp_path, redis_db):
    use_queue(app, "runs-db-down")
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere"
    cut_off = WorkerProcess(tmp_path, moto_url, DATABASE_URL=nowhere, SEECODES_RUN_QUEUE="runs-db-down")
    job_failed = lambda: Job.fetch(run_id, connection=redis_db).get_status() == JobStatus.FAILED  # noqa: E731
    try:
        run_id = runs.started()
        for _ in range(app.config.get("SEECODES_RUN_MAX_REQUEUES", 3)):
            assert wait_for(job_failed, 30), cut_off.output()
            assert reap_now(app).requeued == [run_id]
        assert wait_for(job_failed, 30), cut_off.output()
    finally:
        cut_off.stop()
    assert reap_now(app).requeued == [run_id]  # a fourth outage: more than SEECODES_RUN_MAX_REQUEUES
    with app.app_context():
        assert db.session.execute(select(Run.status, Run.requeues).where(Run.id == run_id)).one() == ("queued", 0)
    assert "infrastructure outage (not counted)" in runs.logs(run_id).text

    burst = WorkerProcess(tmp_path, moto_url, burst=True, SEECODES_RUN_QUEUE="runs-db-down")
    assert burst.process.wait(timeout=60) == 0, burst.output()
    burst.stop()
    assert runs.status(run_id).get_json()["status"]["status"] == "succeeded"


def test_a_requeue_of_a_job_that_ended_on_its_own_still_counts(app, runs, funded, redis_db):
    use_queue(app, "runs-unserved-count")
    run_id = runs.started()
    job = Job.fetch(run_id, connection=redis_db)
    job.set_status(JobStatus.FAILED)
    assert reap_now(app).requeued == [run_id]
    with app.app_context():
        assert db.session.execute(select(Run.requeues).where(Run.id == run_id)).scalar_one() == 1


@pytest.mark.parametrize("previous, now, expected", [
    (0.0, 0.2, 1.0),   # a quick pass: the next slot of the grid
    (0.0, 1.0, 2.0),   # a pass that ended exactly on a slot: the one after
    (0.0, 2.7, 3.0),   # a slow pass skips the slots it overran, it does not shift the grid
])
def test_the_scheduler_keeps_a_fixed_grid(previous, now, expected):
    from seecodes.scheduler import next_due

    assert next_due(previous, 1.0, now) == expected


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_only_one_holder_of_a_maintenance_lock_at_a_time(app, backend):
    from seecodes.scheduler import exclusive

    with app.app_context():
        with exclusive("test.lock") as first:
            with exclusive("test.lock") as second:  # another connection, as another process would have
                assert (first, second) == (True, False)
        with exclusive("test.lock") as again:
            assert again is True
