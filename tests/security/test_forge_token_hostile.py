"""Forge tokens built by an attacker or a fuzzer: the verifier refuses exactly what PyJWT refuses, and never 500s.

The verifier replaces parts of PyJWT for speed (the header is read by its own fast path, the segment alphabet by
one regex). Each hostile token below is compared with PyJWT's own `jwt.decode` under the same options, plus the
project's documented extra rules (a `kid` naming the key, `exp − iat` within the lifetime cap, a valid
`app.installationId`, identity texts that fit their columns), and sent through a Forge route, where it must answer 200 or a 401 envelope.
"""
import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seecodes.forge import tokens

from ..conftest import APP_ID
from ..helpers import assert_envelope

# The route provisions the installation and writes request keys: both databases.
pytestmark = pytest.mark.backends("sqlite", "postgresql")

LEEWAY = 10
MAX_LIFETIME = 300
REFUSALS = {"forge_token_invalid", "forge_token_expired"}


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def _signed(key, header: bytes, payload: bytes) -> str:
    """A token over these exact header and payload bytes with a valid RS256 signature (jwt.encode would
    re-serialise them, and could not write duplicate keys, NaN or invalid UTF-8)."""
    signing_input = _b64(header) + b"." + _b64(payload)
    signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64(signature)).decode()


def _claims_text(installation_id: str, **raw) -> bytes:
    """A Forge-shaped payload whose claims are raw JSON texts (so `10**400`, `NaN` or a duplicate key fit)."""
    now = int(time.time())
    claims = {
        "iss": json.dumps(tokens.ISSUER), "aud": json.dumps(APP_ID), "iat": str(now), "nbf": str(now),
        "exp": str(now + 20), "jti": json.dumps(str(uuid.uuid4())),
        "app": json.dumps({"installationId": installation_id, "environment": {"type": "DEVELOPMENT"}}),
        "principal": json.dumps("557058:alice"),
    }
    claims.update(raw)
    return ("{" + ",".join(f"{json.dumps(name.rstrip('_'))}:{value}" for name, value in claims.items()
                           if value is not None) + "}").encode()


def _header_text(kid: str, extra: str = "") -> bytes:
    return ('{"alg":"RS256","kid":' + json.dumps(kid) + extra + "}").encode()


def _reference_accepts(token: str, public_key, kid: str, installation_id: str) -> bool:
    """PyJWT's verdict with the verifier's options, then the rules the project adds to it."""
    try:
        decoded = jwt.decode_complete(token, key=public_key, algorithms=["RS256"], audience=APP_ID,
                                      issuer=tokens.ISSUER, leeway=LEEWAY,
                                      options={"require": tokens.REQUIRED_CLAIMS})
    except Exception:  # noqa: BLE001 (any exception of PyJWT, even one it does not wrap, is a refusal)
        return False
    header, claims = decoded["header"], decoded["payload"]
    if header.get("kid") != kid:
        return False
    if int(claims["exp"]) - int(claims["iat"]) > MAX_LIFETIME:  # PyJWT's own reading of the two times
        return False
    app = claims.get("app")
    if not isinstance(app, dict) or app.get("installationId") != installation_id:
        return False
    return all(_storable(text, limit) for text, limit in _stored_texts(claims, app))


def _dig(document, *names):
    for name in names:
        document = document.get(name) if isinstance(document, dict) else None
    return document


def _stored_texts(claims: dict, app: dict):
    """The identity texts the backend keeps, with their column widths (a non-string one is ignored)."""
    yield claims.get("principal"), 255
    yield _dig(claims, "context", "cloudId"), 255
    yield _dig(app, "environment", "type"), 64
    if isinstance(app.get("license"), dict):
        yield app["license"].get("capabilitySet"), 64


def _storable(text, limit: int) -> bool:
    if not isinstance(text, str):
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return len(text) <= limit and "\x00" not in text


def _hostile_tokens(key, kid: str, installation_id: str) -> list[tuple[str, str]]:
    """(name, token) pairs: hostile headers and payloads, most of them correctly signed."""
    now = int(time.time())
    good_claims = _claims_text(installation_id)
    deep = "[" * 2000 + "]" * 2000
    headers = {
        "issue's unclosed nesting": ('{"alg":"RS256","kid":"k","x":' + "[" * 2000).encode(),
        "deep nesting": _header_text(kid, f',"x":{deep}'),
        "deep objects": _header_text(kid, ',"x":' + '{"a":' * 1500 + "1" + "}" * 1500),
        "huge integer": _header_text(kid, ',"x":' + "9" * 5000),
        "huge float": _header_text(kid, ',"x":1e400'),
        "NaN": _header_text(kid, ',"x":NaN'),
        "Infinity": _header_text(kid, ',"x":-Infinity'),
        "duplicate alg, RS256 last": ('{"alg":"none","kid":' + json.dumps(kid) + ',"alg":"RS256"}').encode(),
        "duplicate alg, HS256 last": ('{"alg":"RS256","kid":' + json.dumps(kid) + ',"alg":"HS256"}').encode(),
        "duplicate kid, unknown last": (_header_text(kid)[:-1] + b',"kid":"other"}'),
        "alg as list": ('{"alg":["RS256"],"kid":' + json.dumps(kid) + "}").encode(),
        "alg as number": ('{"alg":256,"kid":' + json.dumps(kid) + "}").encode(),
        "kid as number": b'{"alg":"RS256","kid":5}',
        "kid as bool": b'{"alg":"RS256","kid":true}',
        "kid as list": ('{"alg":"RS256","kid":[' + json.dumps(kid) + "]}").encode(),
        "kid as object": b'{"alg":"RS256","kid":{"k":1}}',
        "kid null": b'{"alg":"RS256","kid":null}',
        "kid empty": b'{"alg":"RS256","kid":""}',
        "kid huge": _header_text("k" * 3000),
        "array": b"[]",
        "string": b'"RS256"',
        "number": b"1",
        "null": b"null",
        "true": b"true",
        "empty": b"",
        "not JSON": b"{alg:RS256}",
        "invalid UTF-8": b'{"alg":"RS256","kid":"\xff\xfe"}',
        "lone surrogate escape": _header_text(kid, ',"x":"\\ud800"'),
        "NUL escape": _header_text(kid, ',"x":"\\u0000"'),
        "UTF-16 with BOM": _header_text(kid).decode().encode("utf-16"),
        "UTF-32": _header_text(kid).decode().encode("utf-32-le"),
        "b64 false": _header_text(kid, ',"b64":false,"crit":["b64"]'),
        "crit unknown": _header_text(kid, ',"crit":["exp"]'),
        "typ odd": _header_text(kid, ',"typ":["JWT"]'),
    }
    times = {
        "10**400": str(10**400), "-10**400": str(-(10**400)), "5000 digits": "9" * 5000, "1e400": "1e400",
        "NaN": "NaN", "Infinity": "Infinity", "-Infinity": "-Infinity", "true": "true", "false": "false",
        "null": "null", "string": json.dumps(str(now + 20)), "float string": json.dumps(f"{now + 20}.5"),
        "float": f"{now + 20}.75", "tiny float": "1e-400", "list": f"[{now + 20}]", "object": '{"t":1}',
        "text": '"soon"', "empty string": '""', "negative": "-1", "zero": "0", "1e308": "1e308",
    }
    payloads = {f"{claim}={name}": _claims_text(installation_id, **{claim: value})
                for claim in ("exp", "nbf", "iat") for name, value in times.items()}
    payloads.update({
        "iat far past": _claims_text(installation_id, iat=str(-(10**400))),
        "exp and iat both huge": _claims_text(installation_id, exp=str(10**400 + 20), iat=str(10**400)),
        "duplicate exp, valid last": _claims_text(installation_id, exp=f"0,\"exp\":{now + 20}"),
        "duplicate exp, expired last": _claims_text(installation_id, exp=f"{now + 20},\"exp\":0"),
        "duplicate app, wrong last": _claims_text(installation_id, principal='"x","app":{"installationId":"x"}'),
        "deep context": _claims_text(installation_id, context=deep),
        "huge context number": _claims_text(installation_id, context="9" * 5000),
        "NaN context": _claims_text(installation_id, context='{"cloudId":NaN}'),
        "jti number": _claims_text(installation_id, jti="5"),
        "jti list": _claims_text(installation_id, jti='["a"]'),
        "aud list": _claims_text(installation_id, aud=json.dumps([APP_ID])),
        "aud number": _claims_text(installation_id, aud="5"),
        "iss list": _claims_text(installation_id, iss=json.dumps([tokens.ISSUER])),
        "app string": _claims_text(installation_id, app='"app"'),
        "app installationId number": _claims_text(installation_id, app='{"installationId":5}'),
        "principal object": _claims_text(installation_id, principal='{"accountId":"x"}'),
        "principal huge": _claims_text(installation_id, principal=json.dumps("p" * 20000)),
        "principal NUL": _claims_text(installation_id, principal=json.dumps("a\u0000b")),
        "principal lone surrogate": _claims_text(installation_id, principal='"a\\ud800"'),
        "license odd types": _claims_text(installation_id, app=json.dumps(
            {"installationId": installation_id, "license": {"isActive": "yes", "capabilitySet": ["x", {"y": 1}]},
             "environment": {"type": ["PRODUCTION"]}})),
        "license capabilitySet huge": _claims_text(installation_id, app=json.dumps(
            {"installationId": installation_id, "license": {"isActive": True, "capabilitySet": "c" * 20000}})),
        "apiBaseUrl odd": _claims_text(installation_id, app=json.dumps(
            {"installationId": installation_id, "apiBaseUrl": {"x": 1}}), context='{"cloudId":["x"]}'),
        "sub number": _claims_text(installation_id, sub="5"),
        "array": b"[]",
        "string": b'"claims"',
        "null": b"null",
        "invalid UTF-8": _claims_text(installation_id, principal='"@@"').replace(b"@@", b"\xff\xfe"),
        "UTF-16 with BOM": good_claims.decode().encode("utf-16"),
    })
    corpus = [(f"header {name}", _signed(key, header, good_claims)) for name, header in headers.items()]
    corpus += [(f"payload {name}", _signed(key, _header_text(kid), payload)) for name, payload in payloads.items()]
    valid = _signed(key, _header_text(kid), good_claims)
    corpus += [
        ("valid", valid),
        ("issue's header, unsigned", _b64(headers["issue's unclosed nesting"]).decode() + ".e30.sig"),
        ("two segments", valid.rsplit(".", 1)[0]),
        ("four segments", valid + ".x"),
        ("padded header", valid.replace(".", "==.", 1)),
        ("non-alphabet header", "!" + valid),
        ("NUL in token", valid[:10] + "\x00" + valid[10:]),
    ]
    return corpus


def _route_outcome(client, token: str) -> bool:
    """True for an accepted token; a refusal must be the 401 envelope of a Forge token (never a 500)."""
    answer = client.post("/v1/jira/request-key", json={}, headers={"Authorization": f"Bearer {token}"})
    if answer.status_code == 200:
        return True
    body = assert_envelope(answer, 401)
    assert body["error"] in REFUSALS, body
    return False


def test_the_issues_two_tokens_are_401_forge_token_invalid(client, signer, tenant):
    header = ('{"alg":"RS256","kid":"k","x":' + "[" * 2000).encode()
    nested = _b64(header).decode() + "." + _b64(_claims_text(tenant["installation_id"])).decode() + ".c2ln"
    huge_exp = _signed(signer.key, _header_text(signer.kid), _claims_text(tenant["installation_id"],
                                                                          exp=str(10**400)))
    assert len(nested) < 4096
    for token in (nested, huge_exp):
        answer = client.post("/v1/jira/request-key", json={}, headers={"Authorization": f"Bearer {token}"})
        assert_envelope(answer, 401, "forge_token_invalid")


def test_hostile_tokens_are_accepted_or_refused_exactly_as_pyjwt_decides(client, signer, tenant):
    public_key = signer.key.public_key()
    disagreements = []
    for name, token in _hostile_tokens(signer.key, signer.kid, tenant["installation_id"]):
        expected = _reference_accepts(token, public_key, signer.kid, tenant["installation_id"])
        if _route_outcome(client, token) != expected:
            disagreements.append((name, "PyJWT accepts" if expected else "PyJWT refuses"))
    assert disagreements == []


_claim_values = st.one_of(
    st.integers(min_value=-(10**500), max_value=10**500),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**12), max_value=10**12).map(str),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(exp=_claim_values, nbf=_claim_values, iat=_claim_values, offset=st.sampled_from([None, -1000, 0, 20, 400]))
def test_odd_time_claims_are_judged_as_pyjwt_judges_them(client, signer, tenant, exp, nbf, iat, offset):
    now = int(time.time())
    if offset is not None:  # mostly odd values, sometimes a plausible exp so that later rules are reached
        exp = now + offset
    raw = {claim: json.dumps(value) for claim, value in (("exp", exp), ("nbf", nbf), ("iat", iat))}
    token = _signed(signer.key, _header_text(signer.kid), _claims_text(tenant["installation_id"], **raw))
    expected = _reference_accepts(token, signer.key.public_key(), signer.kid, tenant["installation_id"])
    assert _route_outcome(client, token) == expected
