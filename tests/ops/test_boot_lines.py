"""With SEECODES_LOG_FORMAT=json every line that `make run` / `make worker` print while migrating and seeding
is one JSON object (a log collector parsing stdout and stderr must not break on every start)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]

pytestmark = pytest.mark.slow


def _environment(tmp_path, database_url: str | None) -> dict:
    environ = {name: value for name, value in os.environ.items()
               if not name.startswith(("SEECODES_", "DATABASE_URL", "REDIS_URL", "PYTEST"))}
    environ.update(SEECODES_LOG_FORMAT="json", SEECODES_INSTANCE_PATH=str(tmp_path), SEECODES_SCHEDULER="off",
                   SEECODES_SECRET_KEY="boot-lines-test-secret-key-0123456789abcdef")
    if database_url:
        environ["DATABASE_URL"] = database_url
    return environ


def _lines(*args, environ) -> list[str]:
    done = subprocess.run([*FLASK, *args], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def _not_json(lines: list[str]) -> list[str]:
    wrong = []
    for line in lines:
        try:
            if not isinstance(json.loads(line), dict):
                wrong.append(line)
        except ValueError:
            wrong.append(line)
    return wrong


def _database_url(backend, tmp_path) -> str | None:
    if backend == "sqlite":
        return None  # the embedded default: instance/seecodes.db
    from ..production import PG_URL
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"boot_lines_{os.getpid()}"
    server = create_engine(make_url(PG_URL).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    server.dispose()
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrating_and_seeding_print_only_json_lines(tmp_path, backend):
    environ = _environment(tmp_path, _database_url(backend, tmp_path))
    migrating = _lines("db", "upgrade", environ=environ)
    seeding = _lines("models", "seed", environ=environ)
    assert any("Running upgrade" in line for line in migrating)  # Alembic's lines are there, as JSON
    assert any("catalog seeded" in line for line in seeding)
    assert _not_json(migrating + seeding) == []
    seeded = next(json.loads(line) for line in seeding if "catalog seeded" in line)
    assert seeded["level"] == "INFO" and "time" in seeded and seeded["logger"]

