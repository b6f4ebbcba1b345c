"""request_keys.consume, the one rule of consuming a request key, tested directly on SQLite and PostgreSQL (one
statement there, three here): what it matches, what it stages, what it answers."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from seecodes import clock, ids
from seecodes.extensions import db
from seecodes.installations import service as installations
from seecodes.installations.snapshot import InstallationSnapshot
from seecodes.request_keys import service as request_keys
from seecodes.request_keys.models import RequestKey

from ..helpers import sql_log

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _row(key: str) -> RequestKey:
    return db.session.execute(select(RequestKey).where(RequestKey.key_hash == ids.hash_secret(key))).scalar_one()


def test_a_current_key_is_consumed_and_the_next_key_of_its_chain_staged(app, jira, tenant):
    key = jira.bootstrap()
    with app.app_context():
        before = clock.now()
        consumed = request_keys.consume(key, tenant["installation_id"], tenant["principal"])
        db.session.commit()
        old, new = _row(key), _row(consumed.next_key.key)
        moment = old.consumed_at
        assert before <= moment <= clock.now()
        assert (new.installation_pk, new.principal, new.session_id) == (old.installation_pk, old.principal,
                                                                        old.session_id)
        assert new.created_at == moment and new.consumed_at is None and new.superseded_at is None
        assert new.expires_at == consumed.next_key.expires_at == moment + timedelta(seconds=600)


def test_it_answers_the_installation_as_a_snapshot_of_its_row(app, jira, tenant):
    key = jira.bootstrap()
    with app.app_context():
        consumed = request_keys.consume(key, tenant["installation_id"], tenant["principal"])
        assert consumed.installation == installations.find(tenant["installation_id"])
        assert type(consumed.installation) is InstallationSnapshot


def test_nothing_is_committed_by_it(app, jira, tenant):
    key = jira.bootstrap()
    with app.app_context():
        assert request_keys.consume(key, tenant["installation_id"], tenant["principal"]) is not None
        db.session.rollback()
        assert request_keys.consume(key, tenant["installation_id"], tenant["principal"]) is not None


def _superseded(app, jira, tenant, key):
    jira.bootstrap()  # a new chain; then supersede the first by hand
    with app.app_context():
        _row(key).superseded_at = clock.now()
        db.session.commit()


@pytest.mark.parametrize("case", ["consumed", "superseded", "expired", "other installation", "other principal",
                                  "no principal", "unknown", "malformed"])
def test_only_the_current_unexpired_key_of_the_tokens_chain_matches(app, jira, other_jira, tenant, other_tenant,
                                                                    case):
    key = jira.bootstrap()
    installation_id, principal, presented = tenant["installation_id"], tenant["principal"], key
    if case == "consumed":
        assert jira.get("/v1/instances/me").status_code == 200
    elif case == "superseded":
        _superseded(app, jira, tenant, key)
    elif case == "expired":
        clock.travel(timedelta(seconds=601))
    elif case == "other installation":
        other_jira.bootstrap()
        installation_id = other_tenant["installation_id"]
    elif case == "other principal":
        principal = "557058:mallory"
    elif case == "no principal":
        principal = ""
    elif case == "unknown":
        presented = ids.new_secret(request_keys.PREFIX)
    elif case == "malformed":
        presented = "sc_jira_req_" + "x" * 200
    with app.app_context():
        assert request_keys.consume(presented, installation_id, principal) is None
        db.session.rollback()
        if case not in ("consumed", "superseded", "expired"):  # the key was left as it was
            assert request_keys.consume(key, tenant["installation_id"], tenant["principal"]) is not None


def test_it_is_one_statement_on_postgresql_and_three_on_sqlite(app, backend, jira, tenant):
    key = jira.bootstrap()
    with app.app_context(), sql_log(app) as seen:
        assert request_keys.consume(key, tenant["installation_id"], tenant["principal"]) is not None
        db.session.commit()
    assert len(seen["statements"]) == (1 if backend == "postgresql" else 3), seen["statements"]
    assert seen["commits"] == 1
