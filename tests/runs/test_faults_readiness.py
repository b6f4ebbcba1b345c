"""GET /readyz: database, Redis when configured, storage, a live worker when a queue is configured, and the age of
the oldest queued run; 503 `not_ready` with the reasons. GET /healthz stays a liveness probe."""
from datetime import timedelta

import pytest

from seecodes import clock
from seecodes.runs import dispatch

from .conftest import WorkerProcess, production_overrides
from .faults import free_port, wait_for

OPERATOR_TOKEN = "readiness-operator-token-0123456789"


def ready(client):
    """The operator's view (the metrics token): anonymous callers get status and reason codes only."""
    client.application.config["SEECODES_METRICS_TOKEN"] = OPERATOR_TOKEN
    answer = client.get("/readyz", headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"})
    return answer.status_code, answer.get_json()


def test_the_embedded_default_is_ready_without_redis_or_workers(client):
    status, document = ready(client)
    assert status == 200, document
    assert document["ok"] is True and set(document["checks"]) == {"database", "storage", "queue"}
    assert document["checks"]["queue"]["oldestQueuedSeconds"] == 0


def test_a_run_queued_too_long_makes_the_service_not_ready(app, client, runs, served, funded, monkeypatch):
    monkeypatch.setattr(dispatch, "submit", lambda app, run_id: None)  # no executor picks it up
    app.config["SEECODES_READY_MAX_QUEUE_AGE_SECONDS"] = 60
    runs.started()
    clock.travel(timedelta(seconds=61))
    status, document = ready(client)
    assert status == 503 and document["error"] == "not_ready"
    assert "oldest queued run has waited" in document["detail"]
    assert document["checks"]["queue"]["ok"] is False and document["checks"]["queue"]["oldestQueuedSeconds"] >= 61
    assert client.get("/healthz").status_code == 200


class TestProduction:
    @pytest.fixture
    def backend(self):
        return "postgresql"

    @pytest.fixture
    def app_overrides(self, moto_url, redis_db):
        return production_overrides(moto_url, SEECODES_RUN_QUEUE="runs-readiness")

    def test_no_live_worker_is_not_ready(self, client):
        status, document = ready(client)
        assert status == 503 and document["error"] == "not_ready"
        assert "No live worker serves the queue 'runs-readiness'" in document["detail"]
        assert "make worker" in document["detail"]
        assert document["checks"]["workers"] == {"ok": False, "live": 0, "detail": document["detail"],
                                                 "reason": "no_live_worker"}
        assert all(document["checks"][name]["ok"] for name in ("database", "redis", "storage", "queue"))

    def test_a_registered_worker_that_stopped_heartbeating_counts_for_neither_readyz_nor_doctor_nor_metrics(self, app, client,
                                                                                                redis_db):
        from rq import Queue, Worker
        from rq.utils import utcformat

        from seecodes import doctor, metrics_endpoint

        stale = Worker([Queue("runs-readiness", connection=redis_db)], connection=redis_db, name="died-silently")
        stale.register_birth()  # registered, as a worker that was SIGKILLed leaves itself
        redis_db.hset(stale.key, "last_heartbeat", utcformat(clock.now() - timedelta(minutes=10)))
        try:
            assert ready(client)[1]["checks"]["workers"] == {"ok": False, "live": 0, "reason": "no_live_worker",
                                                             "detail": ready(client)[1]["detail"]}
            rows = {row.name: row for row in doctor.run_checks(app)}
            assert rows["workers"].status == doctor.WARN and "make worker" in rows["workers"].fix
            with app.app_context():
                assert b"\nseecodes_rq_workers 0.0\n" in metrics_endpoint.exposition(app)
        finally:
            stale.register_death()

    @pytest.mark.slow
    def test_a_live_worker_makes_the_service_ready(self, app, client, moto_url, tmp_path):
        worker = WorkerProcess(tmp_path, moto_url, SEECODES_RUN_QUEUE="runs-readiness",
                               SEECODES_WORKER_HEARTBEAT_SECONDS="1")
        try:
            assert wait_for(lambda: ready(client)[0] == 200, 30, step=0.2), worker.output()
            assert ready(client)[1]["checks"]["workers"]["live"] == 1
        finally:
            worker.stop()

    def test_redis_down_is_not_ready(self, app, client):
        app.config["REDIS_URL"] = f"redis://127.0.0.1:{free_port()}/0"
        app.extensions.pop("seecodes.redis", None)
        status, document = ready(client)
        assert status == 503 and document["checks"]["redis"]["ok"] is False
        assert "Redis does not answer" in document["detail"]
        assert client.get("/healthz").status_code == 200

    def test_a_missing_bucket_is_not_ready_and_says_what_to_fix(self, app, client):
        app.config["S3_BUCKET"] = "no-such-bucket"
        status, document = ready(client)
        assert status == 503 and document["checks"]["storage"]["ok"] is False
        assert "The S3 bucket 'no-such-bucket' does not exist" in document["detail"]
