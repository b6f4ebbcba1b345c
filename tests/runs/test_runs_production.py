"""Runs on the production configuration: PostgreSQL, Redis with `python -m seecodes.runs.worker` subprocesses,
and S3 through boto3 against moto's server."""
import base64
import io
import json
import time
import zipfile
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from rq.job import Job, JobStatus

from seecodes import clock

from ..helpers import assert_envelope
from ..production import S3_BUCKET, WorkerProcess
from .conftest import LIST_MD, reap_now
from .faults import killed_mid_run, use_queue, wait_for

pytestmark = pytest.mark.backends("production")


@pytest.fixture
def worker(production_worker):
    return production_worker


def job_status(connection, run_id, expected, limit=10.0):
    """RQ's status of the run's job once it is `expected` (RQ records the job's end just after the run's)."""
    deadline = time.monotonic() + limit
    while True:
        status = Job.fetch(run_id, connection=connection).get_status()
        if status == expected or time.monotonic() > deadline:
            return status
        time.sleep(0.02)


def test_whole_flow_on_s3_with_an_rq_worker(runs, worker, funded, credits_of, redis_db):
    init = runs.init().get_json()
    run_id = init["runId"]
    assert init["bucket"] == S3_BUCKET and init["prefix"] == f"runs/{run_id}/input/"
    assert init["uploadMethod"] == "PUT" and runs.send(init, "list.md", LIST_MD).status_code == 200
    started = runs.start(run_id).get_json()
    assert started["status"] == "queued"

    status = runs.wait(run_id)
    assert status["status"] == "succeeded", worker.output()
    assert "Callback validation" in runs.output(run_id).text
    archive = zipfile.ZipFile(io.BytesIO(requests.get(status["resultZipUrl"], timeout=10).content))
    assert sorted(archive.namelist()) == ["log.txt", "output.md"]
    assert credits_of(funded) == 1000 - started["estimatedCredits"]
    assert job_status(redis_db, run_id, JobStatus.FINISHED) == JobStatus.FINISHED


def test_start_refuses_until_the_s3_upload_exists(runs, worker, funded):
    init = runs.init().get_json()
    body = assert_envelope(runs.start(init["runId"]), 409, "uploads_incomplete")
    assert body["missingFiles"] == ["list.md"]
    assert runs.send(init, "list.md", LIST_MD).status_code in (200, 204)
    assert runs.start(init["runId"]).status_code == 200
    assert runs.wait(init["runId"])["status"] == "succeeded"


def test_presigned_urls_expire_after_the_configured_lifetime(app, runs, worker, funded):
    app.config["SEECODES_STORAGE_URL_TTL_SECONDS"] = 120
    init = runs.init().get_json()
    # The upload is a presigned POST: its signed policy carries the expiry.
    policy = json.loads(base64.b64decode(init["uploadForms"]["list.md"]["fields"]["policy"]))
    expires_in = (datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
                  - datetime.now(timezone.utc)).total_seconds()
    assert 100 <= expires_in <= 121
    assert runs.send(init, "list.md", LIST_MD).status_code in (200, 204)
    assert runs.start(init["runId"]).status_code == 200
    status = runs.wait(init["runId"])
    assert status["status"] == "succeeded", worker.output()
    assert parse_qs(urlsplit(status["resultZipUrl"]).query)["X-Amz-Expires"] == ["120"]


def test_redis_down_at_start_is_503_and_charges_nothing(app, runs, funded, credits_of, usage_of):
    from bench.common import free_port

    from ..production import REDIS_URL

    run_id, _ = runs.prepared()
    app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/13"
    app.extensions.pop("seecodes.redis", None)
    assert_envelope(runs.start(run_id), 503, "queue_unavailable")
    assert credits_of(funded) == 1000 and usage_of(run_id) == []
    assert runs.status(run_id).get_json()["status"]["status"] == "initialized"

    app.config["REDIS_URL"] = REDIS_URL
    app.extensions.pop("seecodes.redis", None)
    use_queue(app, "runs-unserved")
    assert runs.start(run_id).status_code == 200


def test_a_failing_provider_fails_the_run_refunds_and_fails_the_rq_job(runs, worker, funded, add_model, fake_openai,
                                                                      credits_of, redis_db):
    model = add_model("fake fail", config=fake_openai.config("fail", maxRetries=1))
    run_id = runs.started(model=model)
    status = runs.wait(run_id)
    assert status["status"] == "failed" and "HTTP 500" in status["error"]
    assert credits_of(funded) == 1000
    # The job marks its run failed before it re-raises; RQ records the failure a moment later.
    assert wait_for(lambda: Job.fetch(run_id, connection=redis_db).get_status() == JobStatus.FAILED, 10)


def test_a_job_over_its_timeout_ends_failed_and_refunded(app, runs, worker, funded, hanging, credits_of):
    app.config["SEECODES_RUN_TIMEOUT_SECONDS"] = 1  # RQ's job timeout is set by the web process that queues
    run_id = runs.started(model=hanging)
    status = runs.wait(run_id)
    assert status["status"] == "failed" and "time limit of 1 s" in status["error"], worker.output()
    assert credits_of(funded) == 1000


def test_a_worker_killed_mid_run_ends_failed_and_refunded_by_reap(app, runs, funded, hanging, credits_of, moto_url,
                                                                  tmp_path):
    run_id, _ = killed_mid_run(app, runs, hanging, moto_url, tmp_path, "runs-killed")
    assert reap_now(app).failed == []  # its heartbeat is still fresh: it might only be slow
    clock.travel(timedelta(seconds=121))
    assert reap_now(app).failed == [run_id]
    status = runs.status(run_id).get_json()["status"]
    assert status["status"] == "failed" and "stopped responding" in status["error"]
    assert credits_of(funded) == 1000


def test_a_running_run_whose_job_vanished_ends_failed_once_it_stops_heartbeating(
        app, runs, funded, hanging, credits_of, moto_url, tmp_path, redis_db):
    use_queue(app, "runs-vanished")
    doomed = WorkerProcess(tmp_path, moto_url, SEECODES_RUN_QUEUE="runs-vanished")
    try:
        run_id = runs.started(model=hanging)
        runs.wait(run_id, until=("processing_remote",))
        doomed.kill()
    finally:
        doomed.stop()
    Job.fetch(run_id, connection=redis_db).delete()
    assert reap_now(app).failed == []  # a job that lost Redis may still be working: it heartbeats
    clock.travel(timedelta(seconds=2 * 10 + 1))  # two missed heartbeats, far below the stale age
    assert reap_now(app).failed == [run_id]
    assert credits_of(funded) == 1000


def test_a_queued_run_whose_job_vanished_is_requeued_and_then_runs(app, runs, funded, moto_url, tmp_path, redis_db):
    use_queue(app, "runs-requeued")
    run_id = runs.started()
    Job.fetch(run_id, connection=redis_db).delete()
    assert reap_now(app).requeued == [run_id]
    assert Job.fetch(run_id, connection=redis_db).get_status() == JobStatus.QUEUED
    burst = WorkerProcess(tmp_path, moto_url, burst=True, SEECODES_RUN_QUEUE="runs-requeued")
    assert burst.process.wait(timeout=60) == 0, burst.output()
    burst.stop()
    assert runs.status(run_id).get_json()["status"]["status"] == "succeeded"
    assert "re-queued by the reaper" in runs.logs(run_id).text
