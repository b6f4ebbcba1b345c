"""Verifying a Forge invocation token and reading the identity it carries."""
import base64
import json
import re
from dataclasses import dataclass

import jwt
from flask import current_app
from jwt.utils import base64url_decode, base64url_encode

from ..errors import Unauthorized
from .jwks import JWKSCache

ISSUER = "forge/invocation-token"
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "jti", "iss", "aud"]
INSTALLATION_ARI = re.compile(r"^ari:cloud:ecosystem::installation/[A-Za-z0-9-]{1,64}$")
API_BASE_CLOUD_ID = re.compile(r"/ex/jira/([A-Za-z0-9-]{1,64})/?\Z")
BASE64URL = re.compile(r"[A-Za-z0-9_-]{1,4096}")
_SEGMENT = re.compile(rb"([A-Za-z0-9_-]*)={0,2}")


class _RegexAlphabetJWS(jwt.PyJWS):
    """PyJWT's JWS with its per-segment base64url check done by one regex match instead of a Python loop over
    every character of the token (PyJWT 2.15: ~1,300 iterations, ~15 % of a Jira request's CPU). The rule is
    PyJWT's own: a segment it would refuse, or one this shortcut does not cover, goes to PyJWT's implementation,
    which raises its own error (tests/security/test_forge_tokens.py compares the two on hostile segments)."""

    @staticmethod
    def _decode_base64url_segment(segment: bytes, name: str) -> bytes:
        match = _SEGMENT.fullmatch(segment)
        if match is None:
            return _PYJWT_SEGMENT(segment, name)
        stripped = match.group(1)
        if (len(segment) != len(stripped) and len(segment) % 4) or len(stripped) % 4 == 1:
            return _PYJWT_SEGMENT(segment, name)
        try:
            decoded = base64url_decode(stripped)
        except ValueError:  # binascii.Error
            return _PYJWT_SEGMENT(segment, name)
        if base64url_encode(decoded) != stripped:
            return _PYJWT_SEGMENT(segment, name)
        return decoded


_PYJWT_SEGMENT = jwt.PyJWS._decode_base64url_segment
_DECODER = jwt.PyJWT()
_DECODER._jws = _RegexAlphabetJWS(options=_DECODER._get_sig_options())


@dataclass(frozen=True)
class ForgeIdentity:
    installation_id: str
    site_cloud_id: str | None
    principal: str | None
    license_active: bool
    capability_set: str | None
    dev_mode: bool
    environment_type: str | None
    jti: str


def jwks_cache() -> JWKSCache:
    cache = current_app.extensions.get("seecodes.jwks")
    if cache is None:
        cache = JWKSCache(current_app.config["FORGE_JWKS_URL"], current_app.config["FORGE_JWKS_CACHE_SECONDS"])
        current_app.extensions["seecodes.jwks"] = cache
    return cache


# The one human text per kind of refusal: PyJWT's own messages never reach a client.
REFUSALS = {
    "malformed": "The Forge token is malformed.",
    "algorithm": "The Forge token must be signed with RS256.",
    "no_kid": "The Forge token names no signing key.",
    "signature": "The Forge token's signature does not verify.",
    "audience": "The Forge token is meant for another app.",
    "issuer": "The Forge token was not issued by Forge.",
    "missing_claim": "The Forge token lacks a required claim (exp, nbf, iat, jti, iss, aud).",
    "not_yet_valid": "The Forge token is not valid yet.",
    "expired": "The Forge token has expired.",
    "lifetime": "The Forge token claims a longer lifetime than Forge tokens have.",
    "refused": "The Forge token was refused.",
}
# Most specific first: InvalidSignatureError is a DecodeError, ImmatureSignatureError covers nbf and iat.
_PYJWT_REFUSALS = (
    (jwt.InvalidSignatureError, "signature"),
    (jwt.DecodeError, "malformed"),
    (jwt.InvalidAudienceError, "audience"),
    (jwt.InvalidIssuerError, "issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAlgorithmError, "algorithm"),
)


def _invalid(detail: str) -> Unauthorized:
    return Unauthorized(detail, code="forge_token_invalid")


def _refused(error: jwt.PyJWTError) -> Unauthorized:
    kind = next((kind for kind_type, kind in _PYJWT_REFUSALS if isinstance(error, kind_type)), "refused")
    return _invalid(REFUSALS[kind])


def verify(token: str) -> ForgeIdentity:
    """RS256 only, signature against the JWKS, iss, aud = FORGE_APP_ID, exp/nbf/iat/jti required, capped lifetime."""
    header = _unverified_header(token)
    if header.get("alg") != "RS256":
        raise _invalid(REFUSALS["algorithm"])
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise _invalid(REFUSALS["no_kid"])
    key = jwks_cache().get(kid)
    try:
        claims = _DECODER.decode(
            token,
            key=key.key,
            algorithms=["RS256"],
            audience=current_app.config["FORGE_APP_ID"],
            issuer=ISSUER,
            leeway=current_app.config["FORGE_LEEWAY_SECONDS"],
            options={"require": REQUIRED_CLAIMS},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized(REFUSALS["expired"], code="forge_token_expired")
    except jwt.PyJWTError as error:
        raise _refused(error)
    _check_lifetime(claims)
    return identity_from_claims(claims)


def _check_lifetime(claims: dict) -> None:
    """Forge's tokens live ~25 s; one claiming much longer was not minted the way Forge mints them."""
    try:  # read as PyJWT read them when it checked exp and iat: int() of any JSON number, however large
        lifetime = int(claims["exp"]) - int(claims["iat"])
    except (TypeError, ValueError, OverflowError):
        raise _invalid(REFUSALS["malformed"])
    if lifetime > current_app.config["FORGE_MAX_TOKEN_LIFETIME_SECONDS"]:
        raise _invalid(REFUSALS["lifetime"])


def _unverified_header(token: str) -> dict:
    """The header segment alone, for alg and kid. jwt.get_unverified_header would decode and check the whole
    token, which jwt.decode does again (the alphabet check is a Python loop over every character)."""
    segment = token.split(".", 1)[0]
    if BASE64URL.fullmatch(segment):
        try:
            header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except (ValueError, RecursionError):  # RecursionError: a few hundred `[` fit under the length limit
            header = None
        if isinstance(header, dict):
            return header
    try:  # for its precise refusal
        return jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise _invalid(REFUSALS["malformed"])


# Identity texts that the backend stores, at most as long as their columns: a signed token whose text would not
# fit, or holds what PostgreSQL cannot store (NUL, a lone surrogate), is refused here rather than failing (500)
# in the database after the signature verified.
STORED_TEXT_LIMITS = {"principal": 255, "context.cloudId": 255, "app.license.capabilitySet": 64,
                      "app.environment.type": 64}
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _stored_text(value, claim: str) -> str | None:
    """The claim when it is a string (other types are ignored, as before), refused when it cannot be stored."""
    if not isinstance(value, str):
        return None
    if len(value) > STORED_TEXT_LIMITS[claim] or _UNSTORABLE.search(value):
        raise _invalid(f"The Forge token's {claim} is not a storable text of at most "
                       f"{STORED_TEXT_LIMITS[claim]} characters.")
    return value


def identity_from_claims(claims: dict) -> ForgeIdentity:
    app = claims.get("app")
    if not isinstance(app, dict):
        raise _invalid("The Forge token carries no app claim.")
    installation_id = app.get("installationId")
    if not isinstance(installation_id, str) or not INSTALLATION_ARI.fullmatch(installation_id):
        raise _invalid("The Forge token carries no valid app.installationId.")
    context = claims.get("context") if isinstance(claims.get("context"), dict) else {}
    site_cloud_id = _stored_text(context.get("cloudId"), "context.cloudId")
    if not site_cloud_id and isinstance(app.get("apiBaseUrl"), str):
        match = API_BASE_CLOUD_ID.search(app["apiBaseUrl"])
        site_cloud_id = match.group(1) if match else None
    principal = _stored_text(claims.get("principal"), "principal")
    license_claim = app.get("license") if isinstance(app.get("license"), dict) else None
    environment = app.get("environment") if isinstance(app.get("environment"), dict) else {}
    environment_type = _stored_text(environment.get("type"), "app.environment.type")
    return ForgeIdentity(
        installation_id=installation_id,
        site_cloud_id=site_cloud_id,
        principal=principal,
        license_active=bool(license_claim and license_claim.get("isActive") is True),
        capability_set=_stored_text(license_claim.get("capabilitySet"), "app.license.capabilitySet")
        if license_claim else None,
        dev_mode=environment_type is not None and environment_type != "PRODUCTION",
        environment_type=environment_type,
        jti=str(claims["jti"]),
    )
