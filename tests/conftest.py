"""Fixtures: the app on the embedded default (SQLite) and on PostgreSQL, Forge dev keys, Jira and IDE clients."""
import os
import shutil
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from seecodes import clock, create_app, ratelimit
from seecodes.catalog import service as catalog
from seecodes.extensions import db
from seecodes.forge import dev

from .helpers import ForgeSigner, JiraSession

PG_URL = os.environ.get("SEECODES_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("SEECODES_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-00000000a99"
BACKENDS = ["sqlite", "postgresql"]


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


def _truncate_pg(url: str):
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = [
            row[0]
            for row in connection.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'")
            )
        ]
        if tables:
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


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
    app = make_app(instance, forge_keys, url, **overrides)
    with app.app_context():
        catalog.seed()
    return app


@pytest.fixture(params=BACKENDS)
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
    application = build_app(backend, tmp_path, forge_keys, request, **app_overrides)
    yield application
    clock.reset()
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
def grant(app):
    """Give credits to an installation by ARI."""
    from seecodes.installations import service

    def _grant(installation_id: str, credits: int):
        with app.app_context():
            installation = service.get_by_installation_id(installation_id)
            service.grant_credits(installation.id, credits)
            db.session.commit()

    return _grant
