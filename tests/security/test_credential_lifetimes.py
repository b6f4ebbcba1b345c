"""Lifetimes that a one-line change could move without any other test noticing: the rotated request key's
stored expiry (on every consumption path) and the permit's age limit under a fallback signing key."""
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from seecodes import clock
from seecodes.permits import service as permits

from ..helpers import REQUEST_KEY, assert_envelope, bearer

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def _me(client, jira, key):
    return client.get("/v1/instances/me", headers={**jira.auth(), REQUEST_KEY: key})


@pytest.mark.parametrize("known", [False, True], ids=["first-call", "known-installation"])
def test_a_rotated_key_lives_exactly_the_configured_lifetime(client, jira, known):
    if known:  # on PostgreSQL a known installation takes the one-statement path of request_keys.consume
        jira.get("/v1/instances/me")
    rotated = jira.get("/v1/instances/me")
    assert rotated.status_code == 200
    next_key = jira.key
    clock.travel(timedelta(minutes=9, seconds=50))
    assert _me(client, jira, next_key).status_code == 200  # the next key is consumed by this call
    further = client.get("/v1/instances/me", headers={**jira.auth(), REQUEST_KEY: jira.key})
    assert further.status_code == 401  # replayed: the consumed one
    jira.bootstrap()
    rotated = jira.get("/v1/instances/me")
    clock.travel(timedelta(minutes=10, seconds=1))
    assert_envelope(_me(client, jira, jira.key), 401, "request_key_expired")


def test_the_rotated_keys_expiry_header_matches_what_is_stored(client, jira):
    jira.get("/v1/instances/me")
    before = clock.epoch(clock.now())
    rotated = jira.get("/v1/instances/me")
    announced = int(rotated.headers["X-SeeCodes-Next-Request-Key-Expires-At"])
    assert before + 600 <= announced <= clock.epoch(clock.now()) + 600
    clock.travel(timedelta(seconds=announced - clock.epoch(clock.now()) - 5))
    assert _me(client, jira, jira.key).status_code == 200


def _old_token(secret: str, claims: dict, age_seconds: int) -> str:
    """A permit token signed `age_seconds` ago with `secret` (itsdangerous reads the wall clock, not ours)."""
    class AgedSigner(TimestampSigner):
        def get_timestamp(self):
            return super().get_timestamp() - age_seconds

    return URLSafeTimedSerializer(secret, salt=permits.SALT, signer=AgedSigner).dumps(claims)


@pytest.mark.parametrize("signed_with", ["current", "fallback"])
def test_a_permit_older_than_its_lifetime_is_refused_whichever_key_signed_it(app, client, jira, in_app, signed_with):
    permit = jira.permit()
    claims = in_app(lambda: permits.decode(permit))
    old, new = app.config["SECRET_KEY"], "a-new-signing-key-of-at-least-32-characters"
    app.config.update(SECRET_KEY=new, SECRET_KEY_FALLBACKS=[old])
    secret = new if signed_with == "current" else old
    ttl = app.config["SEECODES_PERMIT_TTL_SECONDS"]
    # The row still lives (its expiry is in the future): only the token's own age can refuse it.
    fresh = _old_token(secret, claims, age_seconds=60)
    assert client.get("/v1/tasks/context", headers=bearer(fresh)).status_code != 401
    aged = _old_token(secret, claims, age_seconds=ttl + 60)
    assert_envelope(client.get("/v1/tasks/context", headers=bearer(aged)), 401, "permit_expired")
