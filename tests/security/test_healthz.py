"""GET /healthz answers the database's state: 200 when it answers, 503 in the envelope when it does not."""
import pytest

from seecodes.extensions import db

from ..conftest import make_app
from ..contract_examples import HEALTH_EXAMPLE
from ..helpers import assert_envelope

UNREACHABLE = {
    "sqlite": "sqlite:////nonexistent-folder-for-seecodes-tests/seecodes.db",
    # Port 1 on loopback: refused at once, nothing leaves the machine.
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/seecodes?connect_timeout=2",
}


@pytest.fixture
def app_without_database(backend, tmp_path, forge_keys):
    application = make_app(tmp_path, forge_keys, UNREACHABLE[backend])
    yield application
    with application.app_context():
        db.engine.dispose()


def test_healthz_is_ok_while_the_database_answers(client):
    assert client.get("/healthz").get_json() == HEALTH_EXAMPLE


def test_healthz_is_503_when_the_database_does_not_answer(app_without_database):
    response = app_without_database.test_client().get("/healthz")
    assert_envelope(response, 503)
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_database_outage_is_503_on_other_routes_too(app_without_database):
    assert_envelope(app_without_database.test_client().get("/v1/models"), 503)
