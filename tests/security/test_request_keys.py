"""Jira request keys: single use, rotating, short-lived, bound to tenant, user and session; failures consume nothing."""
import time
from datetime import timedelta

import pytest

from sqlalchemy import select

from seecodes import clock, ids
from seecodes.extensions import db
from seecodes.request_keys.models import RequestKey

from ..helpers import NEXT_KEY, REQUEST_KEY, JiraSession, assert_envelope
from .conftest import jira_headers


def _me(client, session, key=None):
    return client.get("/v1/instances/me", headers=jira_headers(session, key))


def test_each_success_returns_a_new_key(client, jira):
    first = jira.bootstrap()
    response = _me(client, jira)
    assert response.status_code == 200
    second = response.headers[NEXT_KEY]
    assert second.startswith("sc_jira_req_") and second != first
    third = _me(client, jira, second).headers[NEXT_KEY]
    assert third not in (first, second)


def test_the_next_key_is_the_one_that_works(client, jira):
    jira.bootstrap()
    next_key = _me(client, jira).headers[NEXT_KEY]
    assert _me(client, jira, next_key).status_code == 200


def test_a_used_key_is_refused_as_replayed(client, jira):
    key = jira.bootstrap()
    assert _me(client, jira, key).status_code == 200
    assert_envelope(_me(client, jira, key), 401, "request_key_replayed")


def test_a_replay_is_recorded_as_a_security_event(client, jira, tenant, security_events):
    key = jira.bootstrap()
    _me(client, jira, _me(client, jira, key).headers[NEXT_KEY])  # the chain moves past the key
    _me(client, jira, key)
    events = security_events("request_key_replayed")
    assert [(kind, installation) for kind, installation, _ in events] == [
        ("request_key_replayed", tenant["installation_id"])
    ]


def test_a_refused_answer_carries_no_next_key(client, jira):
    key = jira.bootstrap()
    _me(client, jira, key)
    assert NEXT_KEY not in _me(client, jira, key).headers


def test_a_key_is_good_until_it_expires(client, jira):
    key = jira.bootstrap()
    clock.travel(timedelta(minutes=9, seconds=50))
    assert _me(client, jira, key).status_code == 200


def test_an_expired_key_is_refused(client, jira):
    key = jira.bootstrap()
    clock.travel(timedelta(minutes=10, seconds=1))
    assert_envelope(_me(client, jira, key), 401, "request_key_expired")


def test_the_key_lifetime_is_configurable(app, client, jira):
    app.config["SEECODES_REQUEST_KEY_TTL_SECONDS"] = 60
    key = jira.bootstrap()
    clock.travel(timedelta(seconds=61))
    assert_envelope(_me(client, jira, key), 401, "request_key_expired")


def test_bootstrap_answers_the_keys_expiry(client, jira):
    before = clock.epoch(clock.now())
    response = client.post("/v1/jira/request-key", json={}, headers=jira.auth())
    after = clock.epoch(clock.now())
    assert before + 600 <= response.get_json()["expiresAt"] <= after + 600


@pytest.fixture
def local_time_not_utc(monkeypatch):
    """Naive UTC datetimes must not be read as local time: run with a zone that is not UTC."""
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_next_key_expiry_header_is_epoch_seconds_utc(client, jira, local_time_not_utc):
    jira.bootstrap()
    before = clock.epoch(clock.now())
    response = _me(client, jira)
    after = clock.epoch(clock.now())
    assert before + 600 <= int(response.headers["X-SeeCodes-Next-Request-Key-Expires-At"]) <= after + 600


def test_another_tenants_key_is_refused(client, jira, other_jira):
    jira.bootstrap()
    foreign = other_jira.bootstrap()
    assert_envelope(_me(client, jira, foreign), 401, "request_key_unknown")


def test_another_tenants_key_is_not_consumed_by_the_attempt(client, jira, other_jira):
    jira.bootstrap()
    foreign = other_jira.bootstrap()
    _me(client, jira, foreign)
    assert _me(client, other_jira, foreign).status_code == 200


def test_use_of_another_tenants_key_is_recorded(client, jira, other_jira, tenant, security_events):
    jira.bootstrap()
    _me(client, jira, other_jira.bootstrap())
    assert [installation for _, installation, _ in security_events("request_key_foreign")] == [
        tenant["installation_id"]
    ]


def test_another_users_key_is_refused(client, signer, jira, tenant):
    bob = JiraSession(client, signer, tenant["installation_id"], tenant["cloud_id"], "557058:bob")
    jira.bootstrap()
    assert_envelope(_me(client, jira, bob.bootstrap()), 401, "request_key_unknown")


def test_a_token_without_principal_cannot_use_a_users_key(client, signer, jira, tenant):
    backend_function = JiraSession(client, signer, tenant["installation_id"], tenant["cloud_id"], None)
    assert_envelope(_me(client, backend_function, jira.bootstrap()), 401, "request_key_unknown")


def test_session_chains_are_independent(client, signer, tenant):
    one = JiraSession(client, signer, **tenant, session_id="panel-1")
    two = JiraSession(client, signer, **tenant, session_id="panel-2")
    key_one = one.bootstrap()
    two.bootstrap()
    assert _me(client, one, key_one).status_code == 200
    assert _me(client, two).status_code == 200


def test_rebootstrap_invalidates_the_previous_key(client, jira):
    jira.session_id = "panel-1"  # resuming a session; a bootstrap without one starts a new chain
    old = jira.bootstrap()
    jira.bootstrap()
    assert_envelope(_me(client, jira, old), 401, "request_key_replayed")
    assert _me(client, jira).status_code == 200


def test_rebootstrap_of_one_session_leaves_the_others_key_working(client, signer, tenant):
    one = JiraSession(client, signer, **tenant, session_id="panel-1")
    two = JiraSession(client, signer, **tenant, session_id="panel-2")
    key_one = one.bootstrap()
    two.bootstrap()
    two.bootstrap()
    assert _me(client, one, key_one).status_code == 200


def test_malformed_session_id_is_422(client, jira):
    response = client.post("/v1/jira/request-key", json={"sessionId": "<script>"}, headers=jira.auth())
    assert "sessionId" in assert_envelope(response, 422, "validation_failed")["errors"]


def test_a_failed_route_consumes_nothing(client, jira):
    key = jira.bootstrap()
    refused = client.post("/v1/security/vscode-link", headers=jira_headers(jira, key),
                          json={"projectId": "AUTH", "taskId": "AUTH-128", "expirationDays": 0})
    body = assert_envelope(refused, 422, "validation_failed")
    assert "expirationDays" in body["errors"]
    assert NEXT_KEY not in refused.headers
    assert _me(client, jira, key).status_code == 200


def test_a_forbidden_route_consumes_nothing(client, jira):
    key = jira.bootstrap()
    refused = client.post("/v1/security/task-permit", headers=jira_headers(jira, key),
                          json={"projectId": "AUTH", "taskId": "AUTH-128", "userAccountId": "557058:mallory"})
    assert_envelope(refused, 403, "user_mismatch")
    assert _me(client, jira, key).status_code == 200


def test_a_route_failing_after_its_writes_leaves_no_half_written_work(client, jira, in_app, monkeypatch):
    from seecodes.errors import Unavailable
    from seecodes.launch_codes import service as launch_codes
    from seecodes.launch_codes.models import LaunchCode
    from seecodes.task_context.models import TaskContext

    def fail_after_writing(*args):
        db.session.flush()  # the context and the code are in the database's transaction now
        assert db.session.execute(select(LaunchCode)).all() and db.session.execute(select(TaskContext)).all()
        raise Unavailable("Storage went away mid-route.", code="storage_unavailable")

    key = jira.bootstrap()
    monkeypatch.setattr(launch_codes, "launcher_urls", fail_after_writing)
    refused = client.post("/v1/security/vscode-link", headers=jira_headers(jira, key),
                          json={"projectId": "AUTH", "taskId": "AUTH-128", "jiraContext": {"title": "never stored"}})
    assert_envelope(refused, 503, "storage_unavailable")
    assert in_app(lambda: db.session.execute(select(LaunchCode)).all()) == []
    assert in_app(lambda: db.session.execute(select(TaskContext)).all()) == []
    monkeypatch.undo()
    assert _me(client, jira, key).status_code == 200  # and the key was not consumed


def test_a_bad_forge_token_consumes_nothing(client, jira):
    key = jira.bootstrap()
    response = client.get("/v1/instances/me", headers={"Authorization": "Bearer garbage", REQUEST_KEY: key})
    assert_envelope(response, 401, "forge_token_invalid")
    assert _me(client, jira, key).status_code == 200


def test_missing_request_key_is_refused(client, jira):
    jira.bootstrap()
    assert_envelope(client.get("/v1/instances/me", headers=jira.auth()), 401, "request_key_missing")


def test_malformed_request_key_is_refused(client, jira):
    jira.bootstrap()
    assert_envelope(_me(client, jira, "not-a-key"), 401, "request_key_missing")


def test_unknown_request_key_is_refused(client, jira):
    jira.bootstrap()
    assert_envelope(_me(client, jira, ids.new_secret("sc_jira_req_")), 401, "request_key_unknown")


def test_keys_are_stored_only_as_hashes(client, jira, in_app):
    key = jira.bootstrap()
    rows = in_app(lambda: [(r.key_hash,) for r in db.session.execute(select(RequestKey)).scalars()])
    assert rows == [(ids.hash_secret(key),)]
