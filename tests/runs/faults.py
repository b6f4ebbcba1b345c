"""Real processes for the fault tests: a redis-server of the test's own that it stops and starts, and the API
under gunicorn."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
from redis import Redis
from redis.exceptions import RedisError

from ..conftest import PG_URL
from .conftest import AWS_ENV, FAKE_KEY, FAKE_KEY_ENV, ROOT, S3_BUCKET


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def use_queue(app, name):
    """Send this test's runs to a queue of its own (one that no session-wide worker serves)."""
    app.config["SEECODES_RUN_QUEUE"] = name


def killed_mid_run(app, runs, model, moto_url, tmp_path, queue, **worker_env):
    """A run in processing_remote whose worker (supervisor, RQ worker, work horse) was then SIGKILLed; answers
    the run id and the monotonic time of the kill."""
    from ..production import WorkerProcess

    use_queue(app, queue)
    doomed = WorkerProcess(tmp_path, moto_url, SEECODES_RUN_QUEUE=queue, **worker_env)
    try:
        run_id = runs.started(model=model)
        assert runs.wait(run_id, until=("processing_remote",))["status"] == "processing_remote", doomed.output()
        doomed.kill()
    finally:
        doomed.stop()
    return run_id, time.monotonic()


def wait_for(predicate, limit: float, step: float = 0.05):
    """Poll until predicate() is truthy; answers its last value (falsy when the limit passed)."""
    deadline = time.monotonic() + limit
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(step)


class RedisServer:
    """A redis-server on a free port without persistence: a restart loses every key, as a failover can."""

    def __init__(self, folder):
        self.port, self.folder, self.process = free_port(), folder, None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_for(self.answers, 10), "redis-server did not start"
        return self

    def answers(self) -> bool:
        try:
            return Redis.from_url(self.url, socket_connect_timeout=0.2).ping()
        except RedisError:
            return False

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.kill()  # an outage, not an orderly shutdown
            self.process.wait()


def production_env(tmp_path, moto_url, redis_url, **extra) -> dict:
    instance = tmp_path / "process-instance"
    instance.mkdir(exist_ok=True)
    return {**os.environ, **AWS_ENV, "DATABASE_URL": PG_URL, "REDIS_URL": redis_url, "SEECODES_STORAGE": "s3",
            "S3_ENDPOINT_URL": moto_url, "S3_BUCKET": S3_BUCKET, "SEECODES_SECRET_KEY": "test-secret-key-of-the-worker-process",
            "SEECODES_INSTANCE_PATH": str(instance), "SEECODES_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT),
            "PROMETHEUS_MULTIPROC_DIR": str(instance / "prometheus"),
            FAKE_KEY_ENV: FAKE_KEY, **{name: str(value) for name, value in extra.items()}}


class Gunicorn:
    """`gunicorn -c gunicorn.conf.py wsgi:app`, as `make run` serves the API."""

    def __init__(self, tmp_path, env: dict):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = tmp_path / "gunicorn.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
            env={**env, "PORT": str(self.port), "GUNICORN_ACCESS_LOG": "/dev/null",
                 "SEECODES_PUBLIC_BASE_URL": self.url},
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_for(self.answers, 30):
            self.stop()
            raise AssertionError(self.output())

    def answers(self) -> bool:
        try:
            return requests.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait()
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")
