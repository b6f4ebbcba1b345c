"""An object store that is briefly down is an infrastructure outage, like the database being down: the run whose
input could not be read or whose output could not be written goes back to `queued` and is re-queued by the
reaper without using up a re-queue; it succeeds once storage is back, charged once."""
import pytest
from rq import SimpleWorker
from rq.job import Job, JobStatus
from sqlalchemy import select

from seecodes.errors import Unavailable
from seecodes.extensions import db
from seecodes.runs.models import Run
from seecodes.storage.s3 import S3Storage

from .conftest import WorkerProcess, production_overrides, reap_now
from .faults import free_port, use_queue, wait_for

QUEUE = "runs-storage-down"


@pytest.fixture
def backend():
    return "postgresql"


@pytest.fixture
def app_overrides(moto_url, redis_db):
    return production_overrides(moto_url, SEECODES_RUN_QUEUE=QUEUE)


def status_and_requeues(app, run_id):
    with app.app_context():
        try:
            return tuple(db.session.execute(select(Run.status, Run.requeues).where(Run.id == run_id)).one())
        finally:
            db.session.remove()


def storage_down(store, key, data, content_type="application/octet-stream"):
    raise Unavailable("The object store cannot be reached (EndpointConnectionError).", code="storage_unavailable")


def work_once(app, redis_db):
    """One job of the run queue in this process, as a worker's horse runs it."""
    with app.app_context():
        SimpleWorker([QUEUE], connection=redis_db).work(burst=True)
        db.session.remove()


@pytest.mark.slow
def test_a_run_whose_input_cannot_be_read_while_s3_is_down_is_requeued_not_counted(
        app, runs, funded, credits_of, moto_url, tmp_path, redis_db):
    use_queue(app, QUEUE)
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens: every S3 call is refused
    cut_off = WorkerProcess(tmp_path, moto_url, S3_ENDPOINT_URL=nowhere, SEECODES_RUN_QUEUE=QUEUE)
    try:
        run_id = runs.started()
        job_failed = lambda: Job.fetch(run_id, connection=redis_db).get_status() == JobStatus.FAILED  # noqa: E731
        assert wait_for(job_failed, 60), cut_off.output()
    finally:
        cut_off.stop()
    assert status_and_requeues(app, run_id) == ("queued", 0), runs.logs(run_id).text
    assert reap_now(app).requeued == [run_id]
    assert status_and_requeues(app, run_id) == ("queued", 0)
    logs = runs.logs(run_id).text
    assert "object storage unavailable" in logs and "infrastructure outage (not counted)" in logs
    charged = credits_of(funded)
    assert charged < 1000

    burst = WorkerProcess(tmp_path, moto_url, burst=True, SEECODES_RUN_QUEUE=QUEUE)
    assert burst.process.wait(timeout=60) == 0, burst.output()
    burst.stop()
    assert runs.status(run_id).get_json()["status"]["status"] == "succeeded"
    assert credits_of(funded) == charged  # charged once, never refunded


def test_a_run_whose_output_cannot_be_written_while_s3_is_down_is_requeued_not_counted(
        app, runs, funded, credits_of, redis_db, monkeypatch):
    use_queue(app, QUEUE)  # served by no worker: this test runs the job itself
    run_id = runs.started()
    write = S3Storage.write
    monkeypatch.setattr(S3Storage, "write", storage_down)
    work_once(app, redis_db)
    assert status_and_requeues(app, run_id) == ("queued", 0), runs.logs(run_id).text
    assert Job.fetch(run_id, connection=redis_db).get_status() == JobStatus.FAILED
    charged = credits_of(funded)
    assert charged < 1000

    monkeypatch.setattr(S3Storage, "write", write)
    assert reap_now(app).requeued == [run_id]
    work_once(app, redis_db)
    assert status_and_requeues(app, run_id) == ("succeeded", 0), runs.logs(run_id).text
    assert credits_of(funded) == charged


def test_a_run_still_fails_when_storage_is_down_without_a_queue_to_requeue_it(app, runs, funded, credits_of,
                                                                             monkeypatch):
    """The embedded executor has no job the reaper could re-queue: the run is failed and refunded as before."""
    app.config.pop("REDIS_URL")
    monkeypatch.setattr(S3Storage, "write", storage_down)
    run_id = runs.started()
    status = runs.wait(run_id)
    assert status["status"] == "failed" and "cannot be reached" in status["error"]
    assert credits_of(funded) == 1000
