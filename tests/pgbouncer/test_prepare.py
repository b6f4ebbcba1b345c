"""SEECODES_DB_PREPARE (seecodes/db_prepare.py): psycopg's server-side prepared statements stay on where they
work (a direct connection: the hot routes' speed) and go off behind a pooler that multiplexes server
connections, unless the operator says otherwise."""
import pytest

from seecodes import db_prepare
from seecodes.settings import ConfigError
from seecodes.extensions import db

from ..conftest import PG_URL, make_app
from .conftest import APP_DB

PSYCOPG_DEFAULT = 5


@pytest.fixture
def app_with(tmp_path, forge_keys):
    built = []

    def build(url, prepare=None):
        instance = tmp_path / f"instance-{len(built)}"
        instance.mkdir()
        app = make_app(instance, forge_keys, url, **({} if prepare is None else {"SEECODES_DB_PREPARE": prepare}))
        built.append(app)
        return app

    yield build
    for app in built:
        with app.app_context():
            db.engine.dispose()


def prepare_threshold(app):
    with app.app_context():
        connection = db.engine.raw_connection()
        try:
            return connection.driver_connection.prepare_threshold
        finally:
            connection.close()


def test_a_direct_connection_keeps_prepared_statements_by_default(app_with):
    assert prepare_threshold(app_with(PG_URL)) == PSYCOPG_DEFAULT


def test_behind_pgbouncer_nothing_is_prepared_by_default(app_with, pgbouncer):
    assert prepare_threshold(app_with(pgbouncer.url(APP_DB))) is None


def test_on_keeps_prepared_statements_behind_a_pooler_that_supports_them(app_with, pgbouncer):
    assert prepare_threshold(app_with(pgbouncer.url(APP_DB), "on")) == PSYCOPG_DEFAULT


def test_off_never_prepares_even_on_a_direct_connection(app_with):
    assert prepare_threshold(app_with(PG_URL, "off")) is None


def test_the_pooler_is_looked_for_once_per_process(app_with, pgbouncer, monkeypatch):
    looked = []
    real = db_prepare.behind_pooler
    monkeypatch.setattr(db_prepare, "behind_pooler", lambda connection: looked.append(1) or real(connection))
    app = app_with(pgbouncer.url(APP_DB))
    with app.app_context():
        held = [db.engine.raw_connection() for _ in range(3)]  # three connections of the pool
        assert [connection.driver_connection.prepare_threshold for connection in held] == [None] * 3
        for connection in held:
            connection.close()
    assert looked == [1]


def test_an_unknown_value_is_refused_with_the_choices(app_with):
    with pytest.raises(ConfigError, match="auto, on, off"):
        app_with(PG_URL, "sometimes")
