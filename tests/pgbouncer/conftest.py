"""Fixtures of the PgBouncer tests: one PgBouncer per session in transaction pooling mode, in front of the test
database and of a database of its own for the migration tests, and the production backend through it."""
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from ..production import PG_URL, WorkerProcess, production_overrides, wait_until_idle
from ..runs.conftest import (  # noqa: F401 (the run tests' fixtures, used here through PgBouncer)
    add_model, credits_of, fake_openai, funded, hanging, installation_id, runs)
from .bouncer import EXECUTABLE, INSTALL_HINT, PgBouncer

APP_DB, MIGRATIONS_DB = "seecodes", "seecodes_migrations"
QUEUE = "runs-pgbouncer"
# Three, so that the lone transaction between a session lock and its unlock puts them on different ones.
MIGRATION_SERVER_CONNECTIONS = 3  # the queue of the worker that reaches the database through PgBouncer


def migrations_database_url() -> str:
    """A database of the migration tests' own beside the test database (created on first use)."""
    url = make_url(PG_URL)
    target = url.set(database=f"{url.database}_migrations")
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            if connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": target.database}).first() is None:
                connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        engine.dispose()
    return target.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def pgbouncer(tmp_path_factory):
    if EXECUTABLE is None:
        pytest.fail(INSTALL_HINT)
    bouncer = PgBouncer(tmp_path_factory.mktemp("pgbouncer"),
                        {APP_DB: PG_URL, MIGRATIONS_DB: migrations_database_url()},
                        pool_sizes={MIGRATIONS_DB: MIGRATION_SERVER_CONNECTIONS})
    yield bouncer
    bouncer.stop()


@pytest.fixture
def backend():
    return "production"


@pytest.fixture
def app_overrides(pgbouncer, moto_url, redis_db):
    """The app in the test process (its routes, the run driver) reaches the database through PgBouncer."""
    return {**production_overrides(moto_url), "SQLALCHEMY_DATABASE_URI": pgbouncer.url(APP_DB),
            "SEECODES_RUN_QUEUE": QUEUE}


@pytest.fixture(scope="session")
def bounced_worker(pgbouncer, pg_schema, moto_url, redis_db, tmp_path_factory):
    """`python -m seecodes.runs.worker` on the queue of these tests, through PgBouncer."""
    worker = WorkerProcess(tmp_path_factory.mktemp("bounced-worker"), moto_url,
                           DATABASE_URL=pgbouncer.url(APP_DB), SEECODES_RUN_QUEUE=QUEUE)
    yield worker
    worker.stop()


@pytest.fixture
def worker(bounced_worker, redis_db):
    yield bounced_worker
    wait_until_idle(redis_db, QUEUE)  # no job of a test outlives its rows
