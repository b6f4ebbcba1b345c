"""Forge invocation tokens: every malformed, forged or out-of-date token is a 401 in the envelope."""
import base64
import hashlib
import hmac
import json
import sys
import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from seecodes.forge import dev, jwks, tokens
from seecodes.forge.jwks import JWKSCache

from ..helpers import assert_envelope, json_server

# Verifying a token reads no table that differs between deployments: one backend is enough.
pytestmark = pytest.mark.backends("sqlite")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segments(header: dict, claims: dict) -> str:
    return f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"


def _bootstrap(client, token, **kwargs):
    return client.post("/v1/jira/request-key", json={}, headers={"Authorization": f"Bearer {token}"}, **kwargs)


@pytest.fixture
def claims(signer, tenant):
    return signer.claims(tenant["installation_id"], tenant["cloud_id"], tenant["principal"])


@pytest.fixture
def fetches(monkeypatch):
    """Counts every read of the JWKS; the refetch pauses are made long so that no test depends on speed."""
    monkeypatch.setattr(jwks, "UNKNOWN_KID_BACKOFF", 10**6)
    monkeypatch.setattr(jwks, "UNKNOWN_KID_MIN_INTERVAL", 10**6)
    counter = {"n": 0}
    original = JWKSCache._read

    def counting(self):
        counter["n"] += 1
        return original(self)

    monkeypatch.setattr(JWKSCache, "_read", counting)
    return counter


def test_valid_token_is_accepted(client, signer, claims):
    assert _bootstrap(client, signer.sign(claims)).status_code == 200


def test_token_within_the_clock_leeway_is_accepted(client, signer, claims):
    now = int(time.time())
    claims.update(iat=now - 30, nbf=now - 30, exp=now - 3)
    assert _bootstrap(client, signer.sign(claims)).status_code == 200


def test_token_signed_by_another_key_is_refused(client, signer, claims):
    stranger = dev.generate_key()
    token = dev.sign(claims, stranger, signer.kid)
    assert_envelope(_bootstrap(client, token), 401, "forge_token_invalid")


def test_token_with_an_unknown_kid_is_refused(client, signer, claims):
    assert_envelope(_bootstrap(client, dev.sign(claims, signer.key, "no-such-kid")), 401, "forge_token_invalid")


def test_token_without_a_kid_is_refused(client, signer, claims):
    import jwt

    token = jwt.encode(claims, signer.key, algorithm="RS256")
    assert_envelope(_bootstrap(client, token), 401, "forge_token_invalid")


def test_token_for_another_audience_is_refused(client, signer, claims):
    claims["aud"] = "ari:cloud:ecosystem::app/someone-else"
    assert_envelope(_bootstrap(client, signer.sign(claims)), 401, "forge_token_invalid")


def test_token_from_another_issuer_is_refused(client, signer, claims):
    claims["iss"] = "someone/else"
    assert_envelope(_bootstrap(client, signer.sign(claims)), 401, "forge_token_invalid")


def test_expired_token_is_refused(client, signer, claims):
    now = int(time.time())
    claims.update(iat=now - 120, nbf=now - 120, exp=now - 60)
    assert_envelope(_bootstrap(client, signer.sign(claims)), 401, "forge_token_expired")


def test_token_not_yet_valid_is_refused(client, signer, claims):
    now = int(time.time())
    claims.update(nbf=now + 120, exp=now + 180)
    assert_envelope(_bootstrap(client, signer.sign(claims)), 401, "forge_token_invalid")


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat", "jti", "iss", "aud"])
def test_token_missing_a_required_claim_is_refused(client, signer, claims, claim):
    del claims[claim]
    assert_envelope(_bootstrap(client, signer.sign(claims)), 401, "forge_token_invalid")


def test_token_without_an_installation_id_is_refused(client, signer, claims):
    del claims["app"]["installationId"]
    assert_envelope(_bootstrap(client, signer.sign(claims)), 401, "forge_token_invalid")


def test_unsigned_alg_none_token_is_refused(client, signer, claims):
    token = _segments({"alg": "none", "typ": "JWT", "kid": signer.kid}, claims) + "."
    assert_envelope(_bootstrap(client, token), 401, "forge_token_invalid")


def test_hs256_token_keyed_with_the_public_key_is_refused(client, signer, claims):
    public_pem = signer.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = _segments({"alg": "HS256", "typ": "JWT", "kid": signer.kid}, claims)
    signature = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    assert_envelope(_bootstrap(client, f"{signing_input}.{_b64(signature)}"), 401, "forge_token_invalid")


def test_rs256_header_over_a_tampered_payload_is_refused(client, signer, claims):
    header, _payload, signature = signer.sign(claims).split(".")
    forged = {**claims, "app": {**claims["app"], "installationId": "ari:cloud:ecosystem::installation/evil"}}
    token = f"{header}.{_b64(json.dumps(forged).encode())}.{signature}"
    assert_envelope(_bootstrap(client, token), 401, "forge_token_invalid")


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "a.b", "....", "eyJhbGciOiJSUzI1NiJ9.e30.", "x" * 5000, "W10.W10.W10", "e30.e30.e30"],
)
def test_malformed_token_is_refused(client, token):
    assert_envelope(_bootstrap(client, token), 401)


def test_missing_authorization_header_is_refused(client):
    assert_envelope(client.post("/v1/jira/request-key", json={}), 401, "credential_missing")


@pytest.mark.parametrize("header", ["Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc"])
def test_authorization_that_is_not_a_bearer_token_is_refused(client, header):
    assert_envelope(client.post("/v1/jira/request-key", json={}, headers={"Authorization": header}), 401)


def test_request_key_routes_refuse_a_bad_token_too(client, jira, signer, claims):
    jira.bootstrap()
    claims["aud"] = "ari:cloud:ecosystem::app/someone-else"
    response = client.get("/v1/instances/me", headers={"Authorization": f"Bearer {signer.sign(claims)}",
                                                       "X-SeeCodes-Jira-Request-Key": jira.key})
    assert_envelope(response, 401, "forge_token_invalid")


def test_jwks_is_read_once_for_many_requests(client, signer, claims, fetches):
    for _ in range(5):
        assert _bootstrap(client, signer.sign(claims)).status_code == 200
    assert fetches["n"] == 1


def test_unknown_kid_refetches_the_jwks_at_most_once(client, signer, claims, fetches):
    assert _bootstrap(client, signer.sign(claims)).status_code == 200
    for _ in range(5):
        assert _bootstrap(client, dev.sign(claims, signer.key, "rotated-away")).status_code == 401
    assert fetches["n"] == 2


def test_a_stream_of_invented_kids_does_not_refetch_per_request(client, signer, claims, fetches):
    assert _bootstrap(client, signer.sign(claims)).status_code == 200
    for index in range(5):
        assert _bootstrap(client, dev.sign(claims, signer.key, f"invented-{index}")).status_code == 401
    assert fetches["n"] == 2


def test_first_request_with_an_unknown_kid_reads_the_jwks_once(client, signer, claims, fetches):
    assert _bootstrap(client, dev.sign(claims, signer.key, "unknown")).status_code == 401
    assert fetches["n"] == 1


def test_key_added_to_the_jwks_is_found_on_its_first_use(app, client, signer, claims, forge_keys, tmp_path, fetches):
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text(open(forge_keys["jwks"]).read())
    app.config["FORGE_JWKS_URL"] = str(jwks_path)
    assert _bootstrap(client, signer.sign(claims)).status_code == 200
    new_key = dev.generate_key()
    document = json.loads(jwks_path.read_text())
    document["keys"].append(dev.public_jwk(new_key, "rotated-in"))
    jwks_path.write_text(json.dumps(document))
    assert _bootstrap(client, dev.sign(claims, new_key, "rotated-in")).status_code == 200
    assert fetches["n"] == 2


def test_jwks_is_read_from_a_file_url(app, client, signer, claims, forge_keys):
    from pathlib import Path

    app.config["FORGE_JWKS_URL"] = Path(forge_keys["jwks"]).as_uri()
    assert app.config["FORGE_JWKS_URL"].startswith("file://")
    assert _bootstrap(client, signer.sign(claims)).status_code == 200


def test_jwks_is_read_from_a_plain_path(app, client, signer, claims, forge_keys):
    app.config["FORGE_JWKS_URL"] = str(forge_keys["jwks"])
    assert _bootstrap(client, signer.sign(claims)).status_code == 200


def test_unreadable_jwks_is_503_not_401(app, client, signer, claims, tmp_path):
    app.config["FORGE_JWKS_URL"] = str(tmp_path / "missing.json")
    assert_envelope(_bootstrap(client, signer.sign(claims)), 503)


@pytest.fixture
def jwks_server(forge_keys):
    """The JWKS over HTTP on loopback, counting the fetches it serves (``state["served"]``)."""
    with open(forge_keys["jwks"], "rb") as jwks, json_server(jwks.read(), "/.well-known/jwks.json") as served:
        yield served


def test_jwks_over_http_is_fetched_once_and_cached(app, client, signer, claims, jwks_server):
    url, served = jwks_server
    app.config["FORGE_JWKS_URL"] = url
    for _ in range(3):
        assert _bootstrap(client, signer.sign(claims)).status_code == 200
    assert served["served"] == 1


def test_an_unreachable_jwks_url_is_503(app, client, signer, claims):
    app.config["FORGE_JWKS_URL"] = "http://127.0.0.1:1/jwks.json"
    assert_envelope(_bootstrap(client, signer.sign(claims)), 503)


def test_cached_keys_outlive_a_failed_refresh(app, client, signer, claims, forge_keys, tmp_path):
    jwks_path = tmp_path / "jwks.json"
    jwks_path.write_text(open(forge_keys["jwks"]).read())
    app.config.update(FORGE_JWKS_URL=str(jwks_path), FORGE_JWKS_CACHE_SECONDS=0)
    assert _bootstrap(client, signer.sign(claims)).status_code == 200
    jwks_path.unlink()
    assert _bootstrap(client, signer.sign(claims)).status_code == 200


def test_verifying_a_token_runs_no_python_loop_over_its_characters(client, signer, claims):
    """PyJWT checks each segment's alphabet with a generator over every character (~1,300 per Forge token,
    ~15 % of a Jira request's CPU); the verifier checks it with one regex match (issue 12)."""
    token = signer.sign(claims)
    per_character = {"calls": 0}

    def profile(frame, event, _arg):
        code = frame.f_code
        if event == "call" and code.co_name == "<genexpr>" and code.co_filename.endswith("jwt/api_jws.py"):
            per_character["calls"] += 1

    sys.setprofile(profile)
    try:
        answer = _bootstrap(client, token)
    finally:
        sys.setprofile(None)
    assert answer.status_code == 200
    assert per_character["calls"] == 0


def _segment_cases() -> list[bytes]:
    canonical = [base64.urlsafe_b64encode(bytes(range(n))).rstrip(b"=") for n in range(9)]
    padded = [base64.urlsafe_b64encode(bytes(range(n))) for n in range(9)]
    return canonical + padded + [
        b"A", b"AB=", b"AB===", b"ABC==", b"QR", b"QQ", b"QR==", b"AAAB=", b"=AB", b"A=B", b"AB=C",
        b"AB+C", b"AB/C", b"AB!C", b"!!!!", b"AB C", b"AB\nC", b"\xc3\xa9AB", b"AB\x00C", b"AAAA====",
    ]


@pytest.mark.parametrize("segment", _segment_cases())
def test_the_segment_check_decodes_and_refuses_exactly_as_pyjwt_does(segment):
    def outcome(decode):
        try:
            return ("decoded", decode(segment, "payload"))
        except jwt.DecodeError as error:
            return ("refused", str(error))

    assert outcome(tokens._RegexAlphabetJWS._decode_base64url_segment) == outcome(jwt.PyJWS._decode_base64url_segment)
