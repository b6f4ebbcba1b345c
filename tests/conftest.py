"""Fixtures: the app on SQLite, PostgreSQL and the production deployment, Forge dev keys, Jira and IDE clients.

Backends: every test that uses `app` runs on `sqlite` and `postgresql` unless its module or the test says
otherwise with `@pytest.mark.backends(...)` (e.g. `pytestmark = pytest.mark.backends("sqlite", "postgresql",
"production")`, or `backends("sqlite")` for logic that no database changes). `production` is PostgreSQL + Redis
+ S3 (moto's server) + one real RQ worker subprocess shared by the session.
"""
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from seecodes import clock, create_app, poll_tags, ratelimit
from seecodes.catalog import service as catalog
from seecodes.extensions import db
from seecodes.forge import dev

from .helpers import ForgeSigner, JiraSession, bearer
from .production import (PG_URL, REDIS_URL, XDIST_WORKER, MotoServer, WorkerProcess, create_worker_database,
                         production_overrides, reset_redis, wait_until_idle)

APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-00000000a99"
BACKENDS = ["sqlite", "postgresql"]  # the default of a test that names none
ALL_BACKENDS = BACKENDS + ["production"]


def pytest_configure(config):
    config.addinivalue_line("markers", "backends(*names): the backends (sqlite, postgresql, production) a test "
                                       "runs on; default sqlite and postgresql")
    if XDIST_WORKER:
        create_worker_database()


def pytest_collection_modifyitems(config, items):
    """Keep each test's `backend` parameter only where its closest `backends` marker (or the default) allows.
    Tests that parametrize `backend` themselves keep what they chose."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        value = callspec.params.get("backend") if callspec is not None else None
        explicit = any("backend" in _argnames(mark) for mark in item.iter_markers("parametrize"))
        marker = item.get_closest_marker("backends")
        allowed = marker.args if marker is not None else BACKENDS
        (kept if value is None or explicit or value in allowed else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)  # reported as "deselected", not silently lost
    items[:] = kept


def _argnames(mark) -> list[str]:
    names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
    return [n.strip() for n in names.split(",")] if isinstance(names, str) else list(names)


@pytest.fixture(scope="session")
def forge_keys(tmp_path_factory):
    folder = tmp_path_factory.mktemp("forge")
    dev.write_dev_keys(str(folder))
    key, kid = dev.load_dev_key(str(folder))
    return {"folder": folder, "key": key, "kid": kid, "jwks": str(folder / dev.JWKS_FILE)}


def _migrate(app):
    import flask_migrate

    with app.app_context():
        flask_migrate.upgrade()


def _base_config(instance: Path, forge_keys, database_url: str) -> dict:
    return {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "SECRET_KEY_FALLBACKS": [],
        "FORGE_APP_ID": APP_ID,
        "FORGE_JWKS_URL": forge_keys["jwks"],
        "SEECODES_STORAGE_DIR": str(instance / "storage"),
        "SEECODES_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
        "REDIS_URL": None,
    }


def make_app(instance: Path, forge_keys, database_url: str, **overrides):
    os.environ["SEECODES_INSTANCE_PATH"] = str(instance)
    try:
        app = create_app({**_base_config(instance, forge_keys, database_url), **overrides})
    finally:
        os.environ.pop("SEECODES_INSTANCE_PATH", None)
    return app


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory, forge_keys):
    """A migrated SQLite file, copied for each test."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    app = make_app(folder, forge_keys, f"sqlite:///{path}")
    _migrate(app)
    with app.app_context():
        db.engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_schema(forge_keys, tmp_path_factory):
    """PostgreSQL schema rebuilt from the migrations once per session."""
    engine = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    app = make_app(tmp_path_factory.mktemp("pg-migrate"), forge_keys, PG_URL)
    _migrate(app)
    with app.app_context():
        db.engine.dispose()
    return PG_URL


def _truncate_pg(url: str, attempts: int = 5):
    """Empty every table. The session's RQ worker warms its next horse's connection whenever it is idle (the
    job's statements for a run that does not exist, rolled back: seecodes/runs/horse_db.py), which takes share
    locks in another order than TRUNCATE's exclusive ones; PostgreSQL then aborts one side as a deadlock. The
    warm-up closes a spare that failed, so the TRUNCATE is simply tried again."""
    from psycopg.errors import DeadlockDetected, LockNotAvailable
    from sqlalchemy.exc import OperationalError

    engine = create_engine(url)
    try:
        for attempt in range(attempts):
            try:
                with engine.begin() as connection:
                    connection.execute(text("SET LOCAL lock_timeout = '5s'"))
                    tables = [
                        row[0]
                        for row in connection.execute(text(
                            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                            "AND tablename <> 'alembic_version' ORDER BY tablename"))
                    ]
                    if tables:
                        connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
                return
            except OperationalError as error:
                if attempt + 1 == attempts or not isinstance(error.orig, (DeadlockDetected, LockNotAvailable)):
                    raise
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def moto_url():
    """moto's S3 server, one per session, with the test bucket."""
    server = MotoServer()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def redis_db():
    from redis import Redis

    connection = Redis.from_url(REDIS_URL)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture(scope="session")
def production_worker(pg_schema, moto_url, redis_db, tmp_path_factory):
    """The production backend's RQ worker (`python -m seecodes.runs.worker`), one per session."""
    worker = WorkerProcess(tmp_path_factory.mktemp("worker"), moto_url)
    yield worker
    worker.stop()


def build_app(backend: str, tmp_path: Path, forge_keys, request, **overrides):
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    if backend == "sqlite":
        path = instance / "seecodes.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        url = f"sqlite:///{path}"
    else:
        url = request.getfixturevalue("pg_schema")
        _truncate_pg(url)
    if backend == "production":
        request.getfixturevalue("production_worker")
        reset_redis(request.getfixturevalue("redis_db"))
        overrides = {**production_overrides(request.getfixturevalue("moto_url")), **overrides}
    app = make_app(instance, forge_keys, url, **overrides)
    with app.app_context():
        catalog.seed()
    return app


@pytest.fixture(params=ALL_BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def app_overrides():
    """Override in a test module to change the app's config."""
    return {}


@pytest.fixture
def app(backend, tmp_path, forge_keys, request, app_overrides):
    clock.reset()
    ratelimit.reset_memory()
    poll_tags.reset_memory()
    application = build_app(backend, tmp_path, forge_keys, request, **app_overrides)
    yield application
    clock.reset()
    if backend == "production":
        # No job of this test may outlive its rows (the next test truncates them).
        assert wait_until_idle(request.getfixturevalue("redis_db")), "a run's job outlived its test"
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def signer(forge_keys):
    return ForgeSigner(forge_keys["key"], forge_keys["kid"], APP_ID)


def new_installation_id() -> str:
    return f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"


@pytest.fixture
def tenant():
    """A fresh tenant: installation ARI, site cloud id and a user."""
    return {"installation_id": new_installation_id(), "cloud_id": str(uuid.uuid4()), "principal": "557058:alice"}


@pytest.fixture
def jira(client, signer, tenant):
    """The Jira app of one tenant, rotating its request keys as it goes."""
    return JiraSession(client, signer, **tenant)


@pytest.fixture
def document(client):
    """The served OpenAPI document."""
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.get_json()


@pytest.fixture
def permit(jira):
    """A task permit for AUTH / AUTH-128 of the default tenant."""
    return jira.permit()


@pytest.fixture
def auth(permit):
    """The permit as an Authorization header."""
    return bearer(permit)


@pytest.fixture
def grant(app):
    """Give credits to an installation by ARI."""
    from seecodes.installations import service

    def _grant(installation_id: str, credits: int):
        with app.app_context():
            installation = service.get_by_installation_id(installation_id)
            service.grant_credits(installation.id, credits)
            db.session.commit()

    return _grant


@pytest.fixture
def other_tenant():
    """A second tenant, for isolation tests."""
    return {"installation_id": new_installation_id(), "cloud_id": str(uuid.uuid4()), "principal": "557058:bob"}


@pytest.fixture
def other_jira(client, signer, other_tenant):
    """The Jira app of the second tenant."""
    return JiraSession(client, signer, **other_tenant)


@pytest.fixture
def in_app(app):
    """Run a function inside an app context and commit what it wrote."""

    def run(function, *args, **kwargs):
        with app.app_context():
            result = function(*args, **kwargs)
            db.session.commit()
            return result

    return run
