"""Request-key recovery is a normal event: a retry after a lost response is recorded as expected (INFO),
a replay of a key its chain has moved past as suspicious (WARNING)."""
import logging

from ..helpers import NEXT_KEY, JiraSession
from .conftest import assert_envelope, jira_headers


def _me(client, session, key=None):
    return client.get("/v1/instances/me", headers=jira_headers(session, key))


def _kinds(security_events):
    return [(kind, details["severity"]) for kind, _, details in security_events()]


def test_a_retry_after_a_lost_response_is_an_expected_event(client, jira, security_events):
    key = jira.bootstrap()
    assert _me(client, jira, key).status_code == 200  # the answer (and its next key) is "lost"
    assert_envelope(_me(client, jira, key), 401, "request_key_replayed")
    assert _kinds(security_events) == [("request_key_retried", "expected")]


def test_a_retry_is_still_expected_after_the_client_bootstrapped_again(client, jira, security_events):
    key = jira.bootstrap()
    _me(client, jira, key)
    jira.bootstrap()
    assert _me(client, jira).status_code == 200  # the new chain is used
    _me(client, jira, key)
    assert _kinds(security_events) == [("request_key_retried", "expected")]


def test_a_replay_of_a_key_its_chain_moved_past_is_suspicious(client, jira, security_events):
    key = jira.bootstrap()
    next_key = _me(client, jira, key).headers[NEXT_KEY]
    assert _me(client, jira, next_key).status_code == 200  # the holder moved on
    assert_envelope(_me(client, jira, key), 401, "request_key_replayed")
    assert _kinds(security_events) == [("request_key_replayed", "suspicious")]


def test_a_superseded_session_key_is_an_expected_event(client, signer, tenant, security_events):
    panel = JiraSession(client, signer, **tenant, session_id="panel-1")
    old = panel.bootstrap()
    panel.bootstrap()
    assert_envelope(_me(client, panel, old), 401, "request_key_replayed")
    assert _kinds(security_events) == [("request_key_superseded", "expected")]


def test_a_foreign_key_is_suspicious(client, jira, other_jira, security_events):
    jira.bootstrap()
    _me(client, jira, other_jira.bootstrap())
    assert _kinds(security_events) == [("request_key_foreign", "suspicious")]


def test_expected_events_log_at_info_and_suspicious_at_warning(client, jira, caplog, monkeypatch):
    # Alembic's fileConfig (run by the migrations of the session fixtures) disables existing loggers.
    monkeypatch.setattr(logging.getLogger("seecodes.security"), "disabled", False)
    caplog.set_level(logging.INFO, logger="seecodes.security")
    key = jira.bootstrap()
    next_key = _me(client, jira, key).headers[NEXT_KEY]
    _me(client, jira, key)                       # retried: the chain has not moved on
    _me(client, jira, next_key)
    _me(client, jira, key)                       # replayed: the chain moved past it
    levels = [(r.levelname, r.getMessage().split()[2]) for r in caplog.records if r.name == "seecodes.security"]
    assert levels == [("INFO", "request_key_retried"), ("WARNING", "request_key_replayed")]


def test_the_event_names_a_generated_chain_without_revealing_its_id(client, jira, security_events):
    key = jira.bootstrap()
    _me(client, jira, key)
    _me(client, jira, key)
    (_, _, details), = security_events()
    assert details["chain"] == "generated"
