"""Forge tokens: a capped lifetime, stable refusal texts, and a JWKS refetch that never stalls known keys."""
import threading
import time

import jwt
import pytest

from seecodes.forge import dev, tokens
from seecodes.forge.jwks import JWKSCache

from ..helpers import json_server
from .conftest import assert_envelope


def _bootstrap(client, token):
    return client.post("/v1/jira/request-key", json={}, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def claims(signer, tenant):
    return signer.claims(tenant["installation_id"], tenant["cloud_id"], tenant["principal"])


# --- lifetime cap ---

def test_a_token_claiming_an_hour_of_life_is_refused(client, signer, claims):
    claims["exp"] = claims["iat"] + 3600
    body = assert_envelope(_bootstrap(client, signer.sign(claims)), 401, "forge_token_invalid")
    assert body["detail"] == tokens.REFUSALS["lifetime"]


def test_a_token_at_the_default_lifetime_cap_is_accepted(client, signer, claims):
    claims["exp"] = claims["iat"] + 300
    assert _bootstrap(client, signer.sign(claims)).status_code == 200


def test_the_lifetime_cap_is_configurable(app, client, signer, claims):
    app.config["FORGE_MAX_TOKEN_LIFETIME_SECONDS"] = 60
    claims["exp"] = claims["iat"] + 120
    assert_envelope(_bootstrap(client, signer.sign(claims)), 401, "forge_token_invalid")


def test_forge_shaped_tokens_fit_under_the_cap(client, signer, claims):
    assert claims["exp"] - claims["iat"] == 25
    assert _bootstrap(client, signer.sign(claims)).status_code == 200


# --- refusal texts: stable, never PyJWT's own messages ---

def _now():
    return int(time.time())


CASES = {
    "audience": lambda c: c.update(aud="ari:cloud:ecosystem::app/someone-else"),
    "issuer": lambda c: c.update(iss="someone/else"),
    "missing_claim": lambda c: c.pop("jti"),
    "not_yet_valid": lambda c: c.update(nbf=_now() + 120, exp=_now() + 150),
    "expired": lambda c: c.update(iat=_now() - 120, nbf=_now() - 120, exp=_now() - 60),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_refusal_details_are_stable_texts_not_pyjwt_messages(app, client, signer, claims, forge_keys, case):
    CASES[case](claims)
    token = signer.sign(claims)
    with pytest.raises(jwt.PyJWTError) as raised:
        jwt.decode(token, key=signer.key.public_key(), algorithms=["RS256"], audience=app.config["FORGE_APP_ID"],
                   issuer=tokens.ISSUER, options={"require": tokens.REQUIRED_CLAIMS})
    body = assert_envelope(_bootstrap(client, token), 401)
    assert str(raised.value) not in body["detail"]
    assert body["detail"] in tokens.REFUSALS.values()


def test_a_bad_signature_has_a_stable_text(client, signer, claims):
    token = dev.sign(claims, dev.generate_key(), signer.kid)
    body = assert_envelope(_bootstrap(client, token), 401, "forge_token_invalid")
    assert body["detail"] == tokens.REFUSALS["signature"]


# --- JWKS refetch outside the lock ---

@pytest.fixture
def slow_jwks(forge_keys):
    """The JWKS over loopback HTTP; ``state["delay"]`` seconds of delay per answer, ``state["asked"]`` set on each ask."""
    with open(forge_keys["jwks"], "rb") as jwks, json_server(jwks.read()) as served:
        yield served


SLOW = 4.0


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def _in_thread(call):
    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    return thread


def test_a_known_kid_does_not_wait_for_a_refetch_for_an_unknown_kid(slow_jwks, signer):
    url, state = slow_jwks
    cache = JWKSCache(url, 3600)
    cache.get(signer.kid)
    state["delay"], _ = SLOW, state["asked"].clear()
    refetch = _in_thread(lambda: pytest.raises(Exception, cache.get, "rotated-in"))
    assert state["asked"].wait(5)
    key, took = _timed(lambda: cache.get(signer.kid))
    assert key.key_id == signer.kid and took < 0.5, took
    refetch.join(10)


def test_a_known_kid_does_not_wait_for_the_periodic_refresh(slow_jwks, signer):
    url, state = slow_jwks
    cache = JWKSCache(url, 3600)
    cache.get(signer.kid)
    cache.ttl = 0  # the cached keys are now due for a refresh
    state["delay"], _ = SLOW, state["asked"].clear()
    key, took = _timed(lambda: cache.get(signer.kid))
    assert key.key_id == signer.kid and took < 0.5, took
    assert state["asked"].wait(5), "the refresh happens in the background"


def test_unknown_kids_arriving_during_a_fetch_join_it(slow_jwks, signer, monkeypatch):
    from seecodes.forge import jwks

    monkeypatch.setattr(jwks, "UNKNOWN_KID_MIN_INTERVAL", 0)
    url, state = slow_jwks
    cache = JWKSCache(url, 3600)
    cache.get(signer.kid)
    state["delay"], _ = 2.0, state["asked"].clear()
    threads = [_in_thread(lambda: pytest.raises(Exception, cache.get, "unknown-0"))]
    assert state["asked"].wait(5)
    threads += [_in_thread(lambda i=i: pytest.raises(Exception, cache.get, f"unknown-{i}")) for i in range(1, 5)]
    for thread in threads:
        thread.join(10)
    assert state["served"] == 2  # the first read, then one fetch shared by the five unknown kids


def test_a_valid_forge_request_does_not_wait_on_a_slow_jwks_refetch(app, signer, claims, slow_jwks):
    url, state = slow_jwks
    app.config["FORGE_JWKS_URL"] = url
    assert _bootstrap(app.test_client(), signer.sign(claims)).status_code == 200
    state["delay"], _ = SLOW, state["asked"].clear()
    stranger = _in_thread(lambda: _bootstrap(app.test_client(), dev.sign(claims, signer.key, "rotated-in")))
    assert state["asked"].wait(5)
    fresh = {**claims, "jti": "another"}
    response, took = _timed(lambda: _bootstrap(app.test_client(), signer.sign(fresh)))
    assert response.status_code == 200
    assert took < SLOW - 1.5, took
    stranger.join(10)
