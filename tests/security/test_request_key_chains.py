"""Request-key chains: a bootstrap without sessionId starts an independent chain, a sessionId resumes one,
live chains per (installation, principal) are capped with the least recently used superseded first."""
import pytest
import requests

from ..helpers import NEXT_KEY, REQUEST_KEY, JiraSession
from ..server import serve
from .conftest import assert_envelope, jira_headers, race


def _me(client, session, key=None):
    return client.get("/v1/instances/me", headers=jira_headers(session, key))


def _tab(client, signer, tenant, session_id=None):
    return JiraSession(client, signer, **tenant, session_id=session_id)


def test_two_tabs_bootstrapping_without_session_id_keep_working_side_by_side(client, signer, tenant):
    tab_one, tab_two = _tab(client, signer, tenant), _tab(client, signer, tenant)
    tab_one.bootstrap()
    tab_two.bootstrap()
    for _ in range(3):
        assert tab_one.get("/v1/instances/me").status_code == 200
        assert tab_two.get("/v1/instances/me").status_code == 200


def test_a_new_bootstrap_without_session_id_leaves_the_previous_chains_key_working(client, jira):
    first = jira.bootstrap()
    jira.bootstrap()
    assert _me(client, jira, first).status_code == 200


def test_a_bootstrap_with_a_session_id_supersedes_that_sessions_previous_key(client, signer, tenant):
    panel = _tab(client, signer, tenant, session_id="panel-1")
    old = panel.bootstrap()
    panel.bootstrap()
    assert_envelope(_me(client, panel, old), 401, "request_key_replayed")
    assert _me(client, panel).status_code == 200


def test_the_next_key_continues_the_same_chain(client, signer, tenant):
    panel = _tab(client, signer, tenant, session_id="panel-1")
    panel.bootstrap()
    rotated = _me(client, panel).headers[NEXT_KEY]
    panel.bootstrap()  # resuming the session supersedes the rotated key: it belonged to that session's chain
    assert_envelope(_me(client, panel, rotated), 401, "request_key_replayed")


def test_a_users_live_chains_are_capped_and_the_oldest_is_superseded(app, client, jira):
    app.config["SEECODES_REQUEST_KEY_MAX_CHAINS"] = 3
    keys = [jira.bootstrap() for _ in range(4)]
    assert_envelope(_me(client, jira, keys[0]), 401, "request_key_replayed")
    for key in keys[1:]:
        assert _me(client, jira, key).status_code == 200


def test_the_cap_supersedes_the_least_recently_used_chain(app, client, jira):
    app.config["SEECODES_REQUEST_KEY_MAX_CHAINS"] = 2
    first, second = jira.bootstrap(), jira.bootstrap()
    first_next = _me(client, jira, first).headers[NEXT_KEY]  # the first chain is now the most recently used
    jira.bootstrap()
    assert_envelope(_me(client, jira, second), 401, "request_key_replayed")
    assert _me(client, jira, first_next).status_code == 200


def test_the_cap_counts_chains_per_user(app, client, signer, tenant):
    app.config["SEECODES_REQUEST_KEY_MAX_CHAINS"] = 1
    alice = _tab(client, signer, tenant)
    bob = _tab(client, signer, {**tenant, "principal": "557058:bob"})
    alice_key = alice.bootstrap()
    bob.bootstrap()
    assert _me(client, alice, alice_key).status_code == 200


def test_the_default_cap_is_32_live_chains(app, client, jira, in_app):
    """Unconfigured: the 33rd bootstrap supersedes the first chain and only it (docs/security.md's figure)."""
    from sqlalchemy import func, select

    from seecodes.extensions import db
    from seecodes.request_keys.models import RequestKey

    assert app.config["SEECODES_REQUEST_KEY_MAX_CHAINS"] == 32  # the default: nothing configured
    keys = [jira.bootstrap() for _ in range(33)]
    live = in_app(lambda: db.session.execute(
        select(func.count()).select_from(RequestKey)
        .where(RequestKey.consumed_at.is_(None), RequestKey.superseded_at.is_(None))).scalar_one())
    assert live == 32
    assert_envelope(_me(client, jira, keys[0]), 401, "request_key_replayed")
    assert _me(client, jira, keys[1]).status_code == 200


def test_a_bootstrap_flood_leaves_at_most_the_cap_of_live_keys(app, client, jira, in_app):
    from sqlalchemy import func, select

    from seecodes.extensions import db
    from seecodes.request_keys.models import RequestKey

    app.config["SEECODES_REQUEST_KEY_MAX_CHAINS"] = 5
    for _ in range(20):
        jira.bootstrap()
    live = in_app(lambda: db.session.execute(
        select(func.count()).select_from(RequestKey)
        .where(RequestKey.consumed_at.is_(None), RequestKey.superseded_at.is_(None))).scalar_one())
    assert live == 5


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_parallel_background_calls_each_with_its_own_chain_all_succeed(app, signer, tenant, backend):
    """Forge backend functions carry no principal: each call bootstraps its own chain and uses it."""
    parallel = 8

    def background_call(_index):
        token = lambda: {"Authorization": f"Bearer {signer.token(tenant['installation_id'], tenant['cloud_id'])}"}
        boot = requests.post(f"{base}/v1/jira/request-key", json={}, headers=token(), timeout=60)
        if boot.status_code != 200:
            return boot
        return requests.get(f"{base}/v1/jira/usage", headers={**token(), REQUEST_KEY: boot.json()["requestKey"]},
                            timeout=60)

    with serve(app) as base:
        results = race(parallel, background_call)
    failures = [r for r in results if isinstance(r, Exception)]
    assert not failures, failures
    assert [r.status_code for r in results] == [200] * parallel, [r.text for r in results if r.status_code != 200]


@pytest.mark.parametrize("backend", ["postgresql", "sqlite"])
def test_two_parallel_tabs_keep_working_over_http(app, signer, tenant, backend):
    with serve(app) as base:
        def tab(_index):
            auth = lambda: {"Authorization": "Bearer " + signer.token(tenant["installation_id"], tenant["cloud_id"],
                                                                     tenant["principal"])}
            key = requests.post(f"{base}/v1/jira/request-key", json={}, headers=auth(), timeout=60).json()["requestKey"]
            statuses = []
            for _ in range(5):
                answer = requests.get(f"{base}/v1/instances/me", headers={**auth(), REQUEST_KEY: key}, timeout=60)
                statuses.append(answer.status_code)
                key = answer.headers.get(NEXT_KEY, key)
            return statuses

        results = race(2, tab)
    assert results == [[200] * 5, [200] * 5]


def test_the_openapi_description_of_the_bootstrap_states_the_chain_rules(client):
    operation = client.get("/openapi.json").get_json()["paths"]["/v1/jira/request-key"]["post"]
    assert "new independent key chain" in operation["description"]
    assert "least recently used" in operation["description"]
