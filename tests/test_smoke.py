"""The Jira -> editor handshake end to end, on both backends."""
import os

import pytest

from .helpers import bearer


def test_health_answers_ok(client):
    assert client.get("/healthz").get_json() == {"ok": True}


def test_handshake_request_key_link_exchange_context(jira, client):
    permit = jira.launch()
    response = client.get("/v1/tasks/context", headers=bearer(permit))
    assert response.status_code == 200
    assert response.get_json()["context"]["title"] == "Implement auth flow"


def test_each_xdist_process_gets_a_database_and_redis_db_of_its_own():
    from .production import per_worker_urls

    pg, redis = "postgresql+psycopg://postgres@127.0.0.1:5432/test", "redis://127.0.0.1:6379/15"
    assert per_worker_urls(pg, redis, "") == (pg, redis)
    assert per_worker_urls(pg, redis, "gw0") == (f"{pg}_gw0", redis)
    assert per_worker_urls(pg, redis, "gw1") == (f"{pg}_gw1", "redis://127.0.0.1:6379/14")
    assert per_worker_urls(pg, redis, "gw2")[1] == "redis://127.0.0.1:6379/12"  # 13 is the benchmarks'


@pytest.mark.parametrize("given", ["postgresql://postgres@127.0.0.1:5432/test",
                                   "postgres://postgres@127.0.0.1:5432/test",
                                   "postgresql+psycopg://postgres@127.0.0.1:5432/test"])
def test_a_plain_postgresql_test_url_gets_the_psycopg_driver(given):
    """SEECODES_TEST_PG_URL in the forms the app's DATABASE_URL accepts: SQLAlchemy knows no postgres:// and
    (before 2.1) read postgresql:// as psycopg2, which the project does not install."""
    import subprocess
    import sys

    from .production import ROOT

    probe = "from sqlalchemy import create_engine; from tests.production import PG_URL; create_engine(PG_URL)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False,
                          env={**os.environ, "SEECODES_TEST_PG_URL": given, "PYTEST_XDIST_WORKER": ""})
    assert done.returncode == 0, done.stderr


def test_the_api_opens_no_cookie_session(app, client):
    """Bearer credentials only: no request reads a cookie session (Flask would build a signing serializer for
    it on every request) and none can write one by mistake."""
    import flask
    from flask.sessions import NullSession

    with app.test_request_context("/healthz", headers={"Cookie": "session=eyJ4IjoxfQ.forged.sig"}):
        app.preprocess_request()
        assert isinstance(flask.session._get_current_object(), NullSession)
    assert "Set-Cookie" not in client.get("/healthz").headers


def test_no_view_or_hook_is_a_coroutine_function(app):
    """The app calls views and hooks without Flask's per-call coroutine check (seecodes.App.ensure_sync):
    that is only right while none of them is async."""
    import inspect

    functions = list(app.view_functions.values()) + list(app.teardown_appcontext_funcs)
    for view in app.view_functions.values():  # MethodView classes: their get/post/... methods
        view_class = getattr(view, "view_class", None)
        functions += [getattr(view_class, m.lower()) for m in getattr(view_class, "methods", None) or ()]
    for registry in (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs):
        functions += [function for chain in registry.values() for function in chain]
    for handlers in app.error_handler_spec.values():
        functions += [f for by_class in handlers.values() for f in by_class.values()]
    assert functions and not [f for f in functions if inspect.iscoroutinefunction(inspect.unwrap(f))]
    assert type(app).ensure_sync is not type(app).__mro__[1].ensure_sync
