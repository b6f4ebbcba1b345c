"""Start-up faults: `make run` and `make worker` upgrading one fresh PostgreSQL database at the same moment."""
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from ..conftest import PG_URL
from .conftest import ROOT

pytestmark = pytest.mark.slow

SCHEMA = "migration_race"
# The newest migration: every racer must end on it.
HEAD = max(path.name.split("_", 1)[0] for path in (ROOT / "migrations" / "versions").glob("0*.py"))


@pytest.fixture
def fresh_schema():
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        connection.execute(text(f"CREATE SCHEMA {SCHEMA}"))
    yield f"{PG_URL}?options=-csearch_path%3D{SCHEMA}"
    with engine.connect() as connection:
        connection.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
    engine.dispose()


# What `flask db upgrade` does, started in several processes that wait at a barrier once the app is built, so
# that their upgrades overlap as those of `make run` and `make worker` can.
UPGRADE = """
import os, sys, time
import flask_migrate, wsgi
open(os.path.join(sys.argv[1], f"ready-{os.getpid()}"), "w").close()
while not os.path.exists(os.path.join(sys.argv[1], "go")):
    time.sleep(0.01)
with wsgi.app.app_context():
    flask_migrate.upgrade()
"""


def test_concurrent_upgrades_of_a_fresh_database_all_succeed(fresh_schema, tmp_path):
    env = {"DATABASE_URL": fresh_schema, "SEECODES_SECRET_KEY": "test-secret-key-of-the-worker-process", "PATH": "/usr/bin:/bin",
           "SEECODES_INSTANCE_PATH": str(tmp_path), "PYTHONPATH": str(ROOT)}
    upgrades = [subprocess.Popen([sys.executable, "-c", UPGRADE, str(tmp_path)], cwd=ROOT, env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT) for _ in range(2)]
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("ready-*"))) < len(upgrades) and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "go").touch()
    outputs = [(process.wait(timeout=120), process.stdout.read().decode(errors="replace")) for process in upgrades]
    assert [code for code, _ in outputs] == [0, 0], "\n".join(output for _, output in outputs)
    engine = create_engine(fresh_schema)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [HEAD]
    engine.dispose()

