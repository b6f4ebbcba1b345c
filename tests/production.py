"""The production deployment for tests: moto's S3 server, Redis and `python -m seecodes.runs.worker` subprocesses."""
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from seecodes.settings import database_url

ROOT = Path(__file__).resolve().parents[1]


def with_psycopg(url: str) -> str:
    """The URL with the psycopg driver, as the app reads DATABASE_URL."""
    return database_url(url)


BASE_PG_URL = with_psycopg(os.environ.get("SEECODES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
BASE_REDIS_URL = os.environ.get("SEECODES_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
# Under pytest-xdist (`make test` runs two processes) each process has a database and a Redis db of its own:
# gw0 uses test_gw0 and Redis db 15, gw1 test_gw1 and db 14, and so on (db 13 is the benchmark's, skipped).
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")


def per_worker_urls(pg_url: str, redis_url: str, worker: str) -> tuple[str, str]:
    if not worker:
        return pg_url, redis_url
    from sqlalchemy.engine import make_url

    index = int(worker.removeprefix("gw"))
    pg = make_url(pg_url)
    base, _, db = redis_url.rpartition("/")
    dbs = [n for n in range(int(db or 0), -1, -1) if n != 13]
    return (pg.set(database=f"{pg.database}_{worker}").render_as_string(hide_password=False),
            f"{base}/{dbs[index % len(dbs)]}")


PG_URL, REDIS_URL = per_worker_urls(BASE_PG_URL, BASE_REDIS_URL, XDIST_WORKER)


def create_worker_database():
    """CREATE DATABASE for this xdist process (the base database must exist; nothing to do without xdist)."""
    if PG_URL == BASE_PG_URL:
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = make_url(PG_URL).database
    engine = create_engine(BASE_PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name})
            if exists.first() is None:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


S3_BUCKET = "seecodes-test-runs"
AWS_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
FAKE_KEY_ENV, FAKE_KEY = "SEECODES_TEST_FAKE_KEY", "sk-test-secret-do-not-log"
# The session's own queue: a worker leaked by an interrupted earlier session (same Redis db, its moto server gone)
# would otherwise take this session's jobs and leave their runs queued (its storage is unreachable).
DEFAULT_QUEUE = f"seecodes-runs-{uuid.uuid4().hex[:8]}"


def production_overrides(moto_url: str, **extra) -> dict:
    """App config of the production deployment (PostgreSQL comes from the database URL)."""
    return {"REDIS_URL": REDIS_URL, "SEECODES_STORAGE": "s3", "S3_ENDPOINT_URL": moto_url, "S3_BUCKET": S3_BUCKET,
            "SEECODES_RUN_QUEUE": DEFAULT_QUEUE, **extra}


class MotoServer:
    """moto's S3 server on a free loopback port, with the test bucket; sets boto3's credential variables."""

    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.saved = {name: os.environ.get(name) for name in AWS_ENV}
        os.environ.update(AWS_ENV)
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        import boto3

        boto3.client("s3", endpoint_url=self.url, region_name="us-east-1").create_bucket(Bucket=S3_BUCKET)

    def stop(self):
        self.server.stop()
        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def reset_redis(connection) -> None:
    """Drop what one test left in Redis (rate-limit counters, caches) but not RQ's own keys: the session's
    worker is registered there."""
    doomed = [key for key in connection.scan_iter(count=1000) if not key.startswith(b"rq:")]
    if doomed:
        connection.delete(*doomed)


def wait_until_idle(connection, queue_name: str = DEFAULT_QUEUE, limit: float = 15.0) -> bool:
    """Wait until the queue is empty and no job of it is running, so no job outlives its test's rows."""
    from rq import Queue
    from rq.registry import StartedJobRegistry

    queue = Queue(queue_name, connection=connection)
    started = StartedJobRegistry(queue=queue)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if queue.count == 0 and started.count == 0:
            return True
        time.sleep(0.02)
    return False


def descendants(pid: int) -> list[int]:
    """Every process below `pid`, found by parent pid (a process group does not hold them all)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, its_parent in parents.items() if its_parent == parent]
        found += children
        frontier += children
    return found


class WorkerProcess:
    """`python -m seecodes.runs.worker` with the production environment."""

    def __init__(self, tmp_path, moto_url, burst=False, **env):
        instance = tmp_path / "worker-instance"
        instance.mkdir(exist_ok=True)
        self.env = {**os.environ, **AWS_ENV, "DATABASE_URL": PG_URL, "REDIS_URL": REDIS_URL,
                    "SEECODES_STORAGE": "s3", "S3_ENDPOINT_URL": moto_url, "S3_BUCKET": S3_BUCKET,
                    "SEECODES_SECRET_KEY": "test-secret-key-of-the-worker-process", "SEECODES_INSTANCE_PATH": str(instance),
                    "SEECODES_REAP_INTERVAL_SECONDS": "3600", "SEECODES_LOG_LEVEL": "WARNING",
                    "PYTHONPATH": str(ROOT), FAKE_KEY_ENV: FAKE_KEY, "SEECODES_RUN_QUEUE": DEFAULT_QUEUE,
                    # the test's own folder, not one per test left on the host's tmpfs
                    "PROMETHEUS_MULTIPROC_DIR": str(instance / "prometheus"), **env}
        self.log_path = tmp_path / f"worker-{time.monotonic_ns()}.log"
        args = [sys.executable, "-m", "seecodes.runs.worker"] + (["--burst"] if burst else [])
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def descendants(self) -> list[int]:
        """The RQ worker below the supervisor and its work horses (RQ puts each horse in a process group of
        its own, the supervisor does the same with the worker), found by parent pid."""
        return descendants(self.process.pid)

    def kill(self):
        """SIGKILL the supervisor, the worker and its work horse, as a lost machine would."""
        for pid in [self.process.pid] + self.descendants():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def stop(self):
        if self.process.poll() is None:
            left = self.descendants()
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
            for pid in left:  # a worker that outlived its supervisor
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.log.close()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")
