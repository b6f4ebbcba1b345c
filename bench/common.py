"""Bench plumbing: the bench database, gunicorn servers on free ports and a multi-process HTTP load driver."""
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from seecodes.forge import dev

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ADMIN_URL = os.environ.get("SEECODES_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TOKEN_TTL_SECONDS = 900
DATABASE_URL = os.environ.get("SEECODES_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")


def result(name: str, metric: str, baseline: float, candidate: float, target: str, ok: bool, **extra) -> dict:
    """One benchmark figure, in the shape every bench module returns."""
    ratio = candidate / baseline if baseline else float("inf")
    return {"name": name, "metric": metric, "baseline": baseline, "candidate": candidate, "ratio": ratio,
            "target": target, "ok": ok, **extra}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reset_database(url: str = DATABASE_URL) -> None:
    """Create the bench database if needed and rebuild its schema from the migrations."""
    name = url.rsplit("/", 1)[1]
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def flask_cli(env: dict, *args: str) -> str:
    completed = subprocess.run([PYTHON, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                               capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} exited {completed.returncode}: {completed.stderr[-2000:]}")
    return completed.stdout


@contextmanager
def gunicorn(app_spec: str, env: dict, port: int):
    """Serve app_spec with the project's gunicorn.conf.py (same workers and threads for every server)."""
    server_env = {**env, "PORT": str(port), "GUNICORN_ACCESS_LOG": "/dev/null", "SEECODES_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([PYTHON, "-m", "gunicorn", "-c", "gunicorn.conf.py", app_spec], cwd=ROOT,
                               env=server_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(process)


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM the process group of a server or worker started with start_new_session, SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def prepare_app(app_id: str, prefix: str, **extra_env: str) -> tuple[str, dict]:
    """A fresh bench database (migrated, catalog seeded) and an instance folder with Forge dev keys.

    Answers the instance folder and the environment the app's processes (server, worker) run with.
    """
    reset_database()
    instance = tempfile.mkdtemp(prefix=prefix)
    dev.write_dev_keys(instance)
    env = {**os.environ, "DATABASE_URL": DATABASE_URL, "SEECODES_INSTANCE_PATH": instance,
           "SEECODES_SECRET_KEY": "bench-secret-key-long-enough-to-sign-with", "FORGE_APP_ID": app_id,
           "FORGE_JWKS_URL": os.path.join(instance, dev.JWKS_FILE),
           # One token serves a whole benchmark (the baseline does the same verification without this cap).
           "FORGE_MAX_TOKEN_LIFETIME_SECONDS": str(TOKEN_TTL_SECONDS), **extra_env}
    env.pop("SEECODES_SECRET_KEY_FALLBACKS", None)
    # As deployed, with bytecode caches: without them every RQ work horse of the no-op baseline compiled the
    # baseline's module from source (~5 ms per job), which made the baseline slower than a bare RQ job is.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    flask_cli(env, "db", "upgrade")
    flask_cli(env, "models", "seed")
    return instance, env


def forge_token(instance: str, app_id: str, installation_id: str, cloud_id: str, principal: str) -> str:
    """A Forge-shaped token signed with the instance's dev key, valid long enough for a whole benchmark."""
    key, kid = dev.load_dev_key(instance)
    return dev.sign(dev.forge_claims(app_id, installation_id, cloud_id, principal, ttl=TOKEN_TTL_SECONDS), key, kid)


def mint_permit(base_url: str, token: str, project_id: str, task_id: str, principal: str) -> str:
    """A task permit minted through the API: request-key bootstrap, then POST /v1/security/task-permit."""
    auth = {"Authorization": f"Bearer {token}"}
    request_key = requests.post(f"{base_url}/v1/jira/request-key", json={}, headers=auth, timeout=30)
    request_key.raise_for_status()
    answer = requests.post(f"{base_url}/v1/security/task-permit", timeout=30,
                           json={"projectId": project_id, "taskId": task_id, "userAccountId": principal},
                           headers={**auth, "X-SeeCodes-Jira-Request-Key": request_key.json()["requestKey"]})
    answer.raise_for_status()
    return answer.json()["permit"]


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {process.stderr.read().decode()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


def _client_thread(client_factory, index, start_at, end_at, out):
    step = client_factory(index)
    done, latencies = 0, []
    while True:
        began = time.time()
        if began >= end_at:
            break
        step()
        if began >= start_at:
            done += 1
            latencies.append(time.time() - began)
    out.append((done, latencies))


def _client_process(client_factory, index, threads, start_at, seconds, queue):
    """Run `threads` clients, each on its own keep-alive connection; count the requests completed in the window
    and keep their latencies."""
    try:
        out, errors = [], []

        def guarded(i):
            try:
                _client_thread(client_factory, index * threads + i, start_at, start_at + seconds, out)
            except BaseException as exc:
                errors.append(exc)

        workers = [threading.Thread(target=guarded, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if errors:
            raise errors[0]
    except BaseException as exc:  # report it to the parent instead of leaving it waiting
        queue.put(f"client {index}: {exc!r}")
        raise
    queue.put((sum(done for done, _ in out), [lat for _, lats in out for lat in lats]))


def load(client_factory, processes: int, seconds: float, threads: int = 1, warmup: float = 1.0) -> dict:
    """Requests per second completed by processes × threads clients (one keep-alive connection each) after a
    warm-up, with the latencies of those requests.

    client_factory(index) runs inside each client thread and returns a function doing one request
    (raising on any unexpected answer, so a benchmark never counts failures as speed).
    """
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + warmup + 0.5 + 0.05 * processes * threads
    workers = [context.Process(target=_client_process, args=(client_factory, i, threads, start_at, seconds, queue))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    answers = [queue.get(timeout=seconds + warmup + 180) for _ in workers]
    failures = [a for a in answers if isinstance(a, str)]
    if failures:
        raise RuntimeError("; ".join(failures))
    for worker in workers:
        worker.join()
        if worker.exitcode != 0:
            raise RuntimeError("a bench client failed")
    return {"rps": sum(done for done, _ in answers) / seconds, "latencies": [x for _, lats in answers for x in lats]}


def throughput(client_factory, processes: int, seconds: float, warmup: float = 1.0) -> float:
    """Requests per second completed by `processes` single-connection client processes after a warm-up."""
    return load(client_factory, processes, seconds, warmup=warmup)["rps"]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
