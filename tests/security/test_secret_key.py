"""The signing key's bootstrap (atomic, race-free, never empty) and private SQLite files."""
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from seecodes import settings

ROOT = Path(__file__).resolve().parents[2]
RACERS = 8
ROUNDS = 3

# Each racer imports first, says it is ready, waits for the go file and bootstraps the key. Key
# generation is slowed down so that the racers really overlap on a busy machine: the window between
# creating the key file and having the key in it is where a reader could see an empty file.
RACER = """
import importlib.util, os, sys, time
# settings.py alone (it needs nothing of the package, only Flask): the racers start quickly.
spec = importlib.util.spec_from_file_location("seecodes_settings", "seecodes/settings.py")
settings = importlib.util.module_from_spec(spec)
spec.loader.exec_module(settings)
slow = settings.secrets.token_urlsafe
def token_urlsafe(n):
    time.sleep(0.2)
    return slow(n)
settings.secrets.token_urlsafe = token_urlsafe
instance, gate = sys.argv[1], sys.argv[2]
open(os.path.join(gate, f"ready-{os.getpid()}"), "w").close()
while not os.path.exists(os.path.join(gate, "go")):
    time.sleep(0.001)
print(settings.from_environ(instance, environ={})["SECRET_KEY"])
"""


def _race(instance: Path) -> list[subprocess.CompletedProcess]:
    gate = instance.parent / f"{instance.name}-gate"
    gate.mkdir()
    processes = [
        subprocess.Popen([sys.executable, "-c", RACER, str(instance), str(gate)], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(RACERS)
    ]
    deadline = time.monotonic() + 60
    while len(list(gate.glob("ready-*"))) < RACERS and time.monotonic() < deadline:
        time.sleep(0.01)
    (gate / "go").touch()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=60)
        results.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return results


@pytest.mark.slow
def test_parallel_first_starts_agree_on_one_non_empty_key(tmp_path):
    for round_number in range(ROUNDS):
        instance = tmp_path / f"round-{round_number}"
        results = _race(instance)
        assert [r.returncode for r in results] == [0] * RACERS, [r.stderr[-500:] for r in results if r.returncode]
        keys = {r.stdout.strip() for r in results}
        assert len(keys) == 1, f"round {round_number}: {len(keys)} different keys"
        (key,) = keys
        assert len(key) >= settings.MIN_SECRET_KEY_LENGTH
        assert (instance / "secret_key").read_text().strip() == key
        assert stat.S_IMODE((instance / "secret_key").stat().st_mode) == 0o600
        assert sorted(p.name for p in instance.iterdir()) == ["secret_key"], "no temporary file is left behind"


def test_the_generated_key_is_kept_for_the_next_start(tmp_path):
    first = settings.from_environ(str(tmp_path), environ={})["SECRET_KEY"]
    assert settings.from_environ(str(tmp_path), environ={})["SECRET_KEY"] == first


def test_an_empty_key_file_refuses_to_start(tmp_path):
    (tmp_path / "secret_key").write_text("")
    with pytest.raises(settings.ConfigError, match="secret_key"):
        settings.from_environ(str(tmp_path), environ={})


def test_a_short_key_file_refuses_to_start(tmp_path):
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(settings.ConfigError, match="secret_key"):
        settings.from_environ(str(tmp_path), environ={})


@pytest.mark.parametrize("value", ["short", " " * 40, "x" * 31])
def test_a_short_secret_key_variable_refuses_to_start(tmp_path, value):
    with pytest.raises(settings.ConfigError, match="SEECODES_SECRET_KEY"):
        settings.from_environ(str(tmp_path), environ={"SEECODES_SECRET_KEY": value})


def test_a_short_fallback_key_refuses_to_start(tmp_path):
    environ = {"SEECODES_SECRET_KEY": "k" * 40, "SEECODES_SECRET_KEY_FALLBACKS": "o" * 40 + ",tiny"}
    with pytest.raises(settings.ConfigError, match="SEECODES_SECRET_KEY_FALLBACKS"):
        settings.from_environ(str(tmp_path), environ=environ)


def test_a_long_enough_secret_key_variable_is_used(tmp_path):
    assert settings.from_environ(str(tmp_path), environ={"SEECODES_SECRET_KEY": "k" * 32})["SECRET_KEY"] == "k" * 32


def test_the_app_does_not_start_with_a_short_key_and_says_why(tmp_path):
    env = {**os.environ, "SEECODES_SECRET_KEY": "short", "SEECODES_INSTANCE_PATH": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'seecodes.db'}"}
    env.pop("REDIS_URL", None)
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert "ConfigError" in last_line and "SEECODES_SECRET_KEY" in last_line and "32" in last_line


# --- SQLite files are private ---

def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_files_are_private(tmp_path, forge_keys):
    from sqlalchemy import text

    from seecodes.extensions import db

    from ..conftest import make_app

    old_umask = os.umask(0o022)
    try:
        path = tmp_path / "fresh.db"
        app = make_app(tmp_path, forge_keys, f"sqlite:///{path}")
        with app.app_context():
            with db.engine.begin() as connection:
                connection.execute(text("CREATE TABLE t (x INTEGER)"))
                connection.execute(text("INSERT INTO t VALUES (1)"))
            files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
            assert all(f.exists() for f in files)
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
            db.engine.dispose()
    finally:
        os.umask(old_umask)


def test_an_existing_world_readable_sqlite_database_is_made_private(tmp_path, forge_keys):
    import sqlite3

    from seecodes.extensions import db

    from ..conftest import make_app

    path = tmp_path / "old.db"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    app = make_app(tmp_path, forge_keys, f"sqlite:///{path}")
    assert _mode(path) == 0o600
    with app.app_context():
        db.engine.dispose()
