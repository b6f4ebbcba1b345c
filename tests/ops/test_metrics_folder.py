"""The Prometheus multiprocess files: on a tmpfs by default, one folder per server, cleaned at start, so that a
full data disk cannot kill a process (it used to: SIGBUS at the first metric write of every new worker)."""
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bench.common import free_port
from seecodes import metrics_folder, prometheus

from ..disks import fill, small_filesystem
from .test_gunicorn_conf import load

ROOT = Path(__file__).resolve().parents[2]
PG = "postgresql+psycopg://seecodes@db.example/seecodes"
REDIS = "redis://cache.example:6379/0"


def test_two_servers_from_one_checkout_get_two_folders(monkeypatch, tmp_path):
    load(monkeypatch, SEECODES_INSTANCE_PATH=str(tmp_path))
    embedded = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    load(monkeypatch, SEECODES_INSTANCE_PATH=str(tmp_path), DATABASE_URL=PG, REDIS_URL=REDIS)
    production = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    assert embedded != production
    assert embedded.startswith("/dev/shm/seecodes-") and production.startswith("/dev/shm/seecodes-")


def test_a_deployments_web_server_and_workers_share_one_folder(tmp_path):
    environ = {"DATABASE_URL": PG, "REDIS_URL": REDIS}
    assert metrics_folder.default_folder(str(tmp_path), environ) == metrics_folder.default_folder(
        str(tmp_path / "." / ""), dict(environ))  # the same instance folder however it is spelled
    assert metrics_folder.default_folder(str(tmp_path), environ) != metrics_folder.default_folder(
        str(tmp_path / "other"), environ)


def test_without_a_tmpfs_the_folder_is_under_the_instance_folder(tmp_path):
    folder = metrics_folder.default_folder(str(tmp_path), {}, tmpfs_folders=(str(tmp_path / "none"),))
    assert Path(folder).parent == tmp_path / "prometheus"


def test_an_operators_folder_is_kept(monkeypatch, tmp_path):
    load(monkeypatch, SEECODES_INSTANCE_PATH=str(tmp_path), PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "mine"))
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path / "mine")


def test_the_files_of_processes_that_are_gone_are_removed_at_start(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    for name in (f"counter_{gone.pid}.db", f"histogram_{gone.pid}horse.db", f"counter_{os.getpid()}.db"):
        (tmp_path / name).write_bytes(b"")
    prometheus.prepare_directory(str(tmp_path))
    assert sorted(path.name for path in tmp_path.iterdir()) == [f"counter_{os.getpid()}.db"]


def children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
            except (OSError, IndexError, ValueError):
                continue
    return found


def wait_for(predicate, limit: float):
    deadline = time.monotonic() + limit
    while not (value := predicate()) and time.monotonic() < deadline:
        time.sleep(0.1)
    return value


@pytest.mark.slow
def test_a_server_whose_data_disk_is_full_keeps_answering(tmp_path, sqlite_template, forge_keys):
    with small_filesystem(tmp_path / "data", size_kib=4096) as data:
        shutil.copy(sqlite_template, data / "seecodes.db")
        port = free_port()
        env = {key: value for key, value in os.environ.items()
               if key not in ("DATABASE_URL", "REDIS_URL", "SEECODES_STORAGE", "PROMETHEUS_MULTIPROC_DIR")}
        env.update({"SEECODES_INSTANCE_PATH": str(data), "PORT": str(port), "WEB_CONCURRENCY": "1",
                    "SEECODES_SECRET_KEY": "full-disk-secret-key-0123456789-abcdefghijklmnop",
                    "FORGE_JWKS_URL": forge_keys["jwks"], "GUNICORN_ACCESS_LOG": "/dev/null",
                    "PYTHONPATH": str(ROOT)})
        log = open(tmp_path / "gunicorn.log", "wb")
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT,
                                  env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        output = lambda: (tmp_path / "gunicorn.log").read_text(errors="replace")  # noqa: E731

        def healthy():
            try:
                return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        try:
            assert wait_for(healthy, 30), output()
            fill(data)
            # New workers, as a crash (or a reload, or max_requests) makes them: each writes its metrics at once.
            before = children(server.pid)
            for pid in before:
                os.kill(pid, signal.SIGKILL)
            assert wait_for(lambda: len(children(server.pid) - before) == 1 and not children(server.pid) & before,
                            30), output()
            workers = children(server.pid)
            assert wait_for(healthy, 30), output()  # the new workers booted (and wrote their first metrics)
            assert all(healthy() for _ in range(20)), output()
            assert children(server.pid) == workers, output()  # neither new worker died meanwhile
            assert "SIGBUS" not in output() and "signal 7" not in output(), output()
            assert not (data / "prometheus").exists()
            assert any(Path(metrics_folder.default_folder(str(data), env)).glob("*.db"))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
            log.close()
            shutil.rmtree(metrics_folder.default_folder(str(data), env), ignore_errors=True)


def test_importing_the_package_leaves_the_metrics_mode_open():
    """gunicorn.conf.py and the worker import seecodes (settings, http_limits, metrics_folder) before they set
    the folder; seecodes.prometheus fixes prometheus_client's mode when it is first imported, so the package may
    not import it (a top-level import once made every server write no metric files at all)."""
    found = subprocess.run([sys.executable, "-c", "import sys, seecodes, seecodes.metrics_folder, seecodes.settings, "
                            "seecodes.http_limits; print('seecodes.prometheus' in sys.modules)"], cwd=ROOT,
                           capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "False"
