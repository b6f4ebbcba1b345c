"""The Jira -> editor handshake end to end, on both backends."""
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


def test_the_api_opens_no_cookie_session(app, client):
    """Bearer credentials only: no request reads a cookie session (Flask would build a signing serializer for
    it on every request) and none can write one by mistake."""
    import flask
    from flask.sessions import NullSession

    with app.test_request_context("/healthz", headers={"Cookie": "session=eyJ4IjoxfQ.forged.sig"}):
        app.preprocess_request()
        assert isinstance(flask.session._get_current_object(), NullSession)
    assert "Set-Cookie" not in client.get("/healthz").headers
