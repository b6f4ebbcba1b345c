"""Redis outages while `make worker` runs: the worker keeps serving afterwards, and every run ends exactly once
with exact credits. A redis-server of the test's own (no persistence: a restart loses every key), the worker
as a subprocess, a slow OpenAI-compatible model server, PostgreSQL and moto's S3."""
import pytest

from .conftest import WorkerProcess, production_overrides
from .faults import RedisServer, wait_for

pytestmark = pytest.mark.slow

FAST = {"SEECODES_WORKER_HEARTBEAT_SECONDS": "1", "SEECODES_RUN_HEARTBEAT_SECONDS": "1",
        "SEECODES_WORKER_RESTART_SECONDS": "1", "SEECODES_WORKER_RESTART_MAX_SECONDS": "1",
        "SEECODES_REAP_INTERVAL_SECONDS": "1"}


@pytest.fixture
def backend():
    return "postgresql"


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def app_overrides(moto_url, redis_server):
    return production_overrides(moto_url, REDIS_URL=redis_server.url)


@pytest.fixture
def worker(app, tmp_path, moto_url, redis_server):
    process = WorkerProcess(tmp_path, moto_url, REDIS_URL=redis_server.url, **FAST)
    yield process
    process.stop()


@pytest.fixture
def slow_model(add_model, fake_openai):
    return add_model("fake slow", config=fake_openai.config("sleep3", timeoutSeconds=20))


def assert_charged_once(usage_of, *run_ids):
    for run_id in run_ids:
        assert [kind for kind, *_ in usage_of(run_id)] == ["task_run"], run_id


def test_runs_outlive_redis_outages_and_the_worker_serves_on(runs, worker, redis_server, funded, slow_model,
                                                              fake_openai, credits_of, usage_of):
    calls = fake_openai.seen.get("sleep3", 0)
    # An outage in the middle of a job: the worker's heartbeats fail, the job goes on.
    first = runs.started(model=slow_model)
    assert runs.wait(first, until=("processing_remote",))["status"] == "processing_remote", worker.output()
    redis_server.stop()
    assert wait_for(lambda: f"Redis unavailable while job {first} runs" in worker.output(), 20), worker.output()
    redis_server.start()  # every key is gone, the run's job too
    assert runs.wait(first, limit=20)["status"] == "succeeded", worker.output()

    # An outage at the moment a job finishes: RQ cannot record it, and its worker loop gives up.
    second = runs.started(model=slow_model)
    assert runs.wait(second, until=("processing_remote",))["status"] == "processing_remote", worker.output()
    redis_server.stop()
    assert runs.wait(second, limit=20)["status"] == "succeeded", worker.output()
    assert wait_for(lambda: f"job {second} ended but Redis is unavailable" in worker.output(), 20), worker.output()
    redis_server.start()

    third = runs.started()
    assert runs.wait(third, limit=30)["status"] == "succeeded", worker.output()
    assert fake_openai.seen["sleep3"] == calls + 2  # no model was called twice
    assert_charged_once(usage_of, first, second, third)
    spent = sum(credits for run_id in (first, second, third) for _, credits, *_ in usage_of(run_id))
    assert credits_of(funded) == 1000 - spent
    assert worker.process.poll() is None, worker.output()


def test_a_worker_started_while_redis_is_down_serves_once_it_is_back_and_stops_on_sigterm(
        app, runs, redis_server, funded, moto_url, tmp_path):
    redis_server.stop()
    process = WorkerProcess(tmp_path, moto_url, REDIS_URL=redis_server.url, **FAST)
    try:
        # The worker meets the outage as it registers; `make worker` keeps waiting for Redis.
        assert wait_for(lambda: process.process.poll() is not None or "waiting for it" in process.output(), 30)
        assert process.process.poll() is None, process.output()  # the run below proves it went on waiting
        redis_server.start()
        run_id = runs.started()
        assert runs.wait(run_id, limit=30)["status"] == "succeeded", process.output()
    finally:
        process.stop()
    assert process.process.returncode == 0, process.output()
