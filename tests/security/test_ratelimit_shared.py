"""The launch-exchange limit: a sliding window counted where every process sees it, surviving a Redis outage."""
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from redis import Redis

from seecodes import clock, ids, ratelimit
from seecodes.errors import RateLimited

from ..conftest import REDIS_URL
from ..server import serve
from .conftest import assert_envelope, race

ROOT = Path(__file__).resolve().parents[2]


def _exchange_body():
    return {"code": ids.new_secret("sc_launch_"), "projectId": "AUTH", "taskId": "AUTH-128"}


def _exchange(client, **kwargs):
    return client.post("/v1/security/launch-exchange", json=_exchange_body(), **kwargs)


@pytest.fixture(params=["database", "redis"])
def counted_in(request, app):
    """Where the counts live: the database (the embedded default) or Redis."""
    if request.param == "redis":
        Redis.from_url(REDIS_URL).flushdb()
        app.config["REDIS_URL"] = REDIS_URL
    return request.param


@pytest.fixture
def hit(app, counted_in):
    def _hit(limit=3, window=60, subject="203.0.113.7"):
        with app.app_context():
            ratelimit.hit("test", subject, limit, window)

    return _hit


# --- the rule, on both stores ---

def test_the_limit_lets_exactly_limit_attempts_through(hit):
    for _ in range(3):
        hit()
    with pytest.raises(RateLimited):
        hit()


def test_attempts_leave_the_window_one_by_one(hit):
    hit()
    clock.travel(timedelta(seconds=20))
    hit()
    hit()
    with pytest.raises(RateLimited) as refused:
        hit()
    assert refused.value.headers["Retry-After"] == "40"
    clock.travel(timedelta(seconds=41))
    hit()  # the first attempt left the window
    with pytest.raises(RateLimited):
        hit()


def test_a_burst_at_the_end_of_a_fixed_window_is_still_counted_after_its_boundary(hit):
    for _ in range(3):
        hit()
    clock.travel(timedelta(seconds=59))
    with pytest.raises(RateLimited):
        hit()


def test_refused_attempts_do_not_extend_the_wait(hit):
    for _ in range(3):
        hit()
    for _ in range(10):
        with pytest.raises(RateLimited):
            hit()
    clock.travel(timedelta(seconds=61))
    hit()


def test_subjects_are_counted_apart(hit):
    for _ in range(3):
        hit()
    hit(subject="198.51.100.1")


# --- shared by every process and thread ---

@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_parallel_attempts_never_pass_the_limit(app, backend):
    app.config.update(SEECODES_EXCHANGE_RATE_LIMIT=5, SEECODES_EXCHANGE_RATE_WINDOW_SECONDS=600)
    with serve(app) as base:
        results = race(16, lambda i: requests.post(f"{base}/v1/security/launch-exchange", json=_exchange_body(),
                                                   timeout=60))
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(r.status_code for r in results) == [401] * 5 + [429] * 11


SERVER = """
from werkzeug.serving import make_server
from seecodes import create_app
server = make_server("127.0.0.1", 0, create_app(), threaded=True)
print(server.server_port, flush=True)
server.serve_forever()
"""


def _start_server(app, instance: Path) -> tuple[subprocess.Popen, str]:
    env = {**os.environ, "SEECODES_INSTANCE_PATH": str(instance), "SEECODES_SECRET_KEY": "s" * 40,
           "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "SEECODES_EXCHANGE_RATE_LIMIT": "5",
           "SEECODES_EXCHANGE_RATE_WINDOW_SECONDS": "600", "SEECODES_LOG_LEVEL": "WARNING"}
    env.pop("REDIS_URL", None)
    process = subprocess.Popen([sys.executable, "-c", SERVER], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    port = process.stdout.readline().strip()
    assert port, "the server did not start"
    return process, f"http://127.0.0.1:{port}"


@pytest.mark.slow
def test_attempts_are_counted_across_server_processes(app, tmp_path):
    servers = [_start_server(app, tmp_path / f"server-{n}") for n in range(2)]
    try:
        statuses = [requests.post(f"{servers[n % 2][1]}/v1/security/launch-exchange", json=_exchange_body(),
                                  timeout=60).status_code for n in range(12)]
    finally:
        for process, _ in servers:
            process.terminate()
            process.wait(10)
    assert statuses == [401] * 5 + [429] * 7


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_burst_just_before_a_window_boundary_is_refused_just_after_it(app, client, backend):
    """Through the route, on the limiter's own clock (seecodes.clock, which the test moves): a fixed window would
    let a second burst through right after its boundary; the sliding one refuses it until the first burst ages out."""
    window = 60
    app.config.update(SEECODES_EXCHANGE_RATE_LIMIT=3, SEECODES_EXCHANGE_RATE_WINDOW_SECONDS=window)
    now = clock.epoch_ms(clock.now()) / 1000
    clock.travel(timedelta(seconds=window - now % window - 5))  # five seconds before a fixed boundary
    assert [_exchange(client).status_code for _ in range(3)] == [401] * 3
    clock.travel(timedelta(seconds=5.2))  # just past that boundary
    assert_envelope(_exchange(client), 429, "rate_limited")
    clock.travel(timedelta(seconds=window))  # the burst has left the window
    assert _exchange(client).status_code == 401


# --- a Redis outage ---

def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A redis-server of the test's own on a free port, which the test stops and starts."""

    def __init__(self, folder: Path):
        self.port, self.folder, self.process = _free_port(), folder, None

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Redis.from_url(self.url, socket_connect_timeout=0.2).ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def own_redis(tmp_path):
    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.mark.slow
def test_launch_exchange_keeps_working_and_limited_while_redis_is_down(app, client, own_redis, monkeypatch):
    monkeypatch.setattr(ratelimit, "REDIS_RETRY_SECONDS", 0)
    app.config.update(REDIS_URL=own_redis.url, SEECODES_EXCHANGE_RATE_LIMIT=3,
                      SEECODES_EXCHANGE_RATE_WINDOW_SECONDS=600)
    assert _exchange(client).status_code == 401
    assert Redis.from_url(own_redis.url).keys("seecodes:rl:*")
    own_redis.stop()
    assert [_exchange(client).status_code for _ in range(3)] == [401] * 3
    assert_envelope(_exchange(client), 429, "rate_limited")
    own_redis.start()
    assert _exchange(client, environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 401
    assert Redis.from_url(own_redis.url).keys("seecodes:rl:*"), "counting went back to Redis"
