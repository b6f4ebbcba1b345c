"""Access-pattern decorators: Forge bearer (+ request key), task permit, or either.

Each guard owns the request's transaction: the route's work and the consumption of the request
key are committed together when the route answers 2xx/3xx, and rolled back otherwise, so a
failed route consumes nothing. The next request key is only announced after the commit.
"""
import re
from dataclasses import dataclass
from functools import wraps

from flask import g, make_response, request

from .. import apidoc, clock, json_input, poll_tags, ratelimit, readonly
from ..errors import Forbidden, Invalid, Unauthorized
from ..extensions import db
from ..forge import tokens as forge_tokens
from ..installations import service as installations
from ..installations.models import Installation
from ..permits import service as permits
from ..request_keys import service as request_keys

REQUEST_KEY_HEADER = "X-SeeCodes-Jira-Request-Key"
NEXT_KEY_HEADER = "X-SeeCodes-Next-Request-Key"
HINT_NAMES = ("cloudIdHint", "siteUrlHint")


@dataclass(frozen=True)
class JiraCaller:
    """The Jira app's verified identity and its installation."""

    # The ORM row, or (on the request-key fast path) the row the key statement answered: same attribute names.
    installation: Installation
    identity: forge_tokens.ForgeIdentity

    @property
    def principal(self) -> str:
        return self.identity.principal or ""


# What each guard can refuse with, by status: the OpenAPI document lists exactly these (apidoc.declare).
_DOWN = {503: ["service_unavailable"]}  # the database (or Redis) does not answer
FORGE_ERRORS = apidoc.merge({401: ["credential_missing", "forge_token_invalid", "forge_token_expired"],
                             403: ["tenant_mismatch", "installation_uninstalled", "installation_inactive"],
                             422: ["validation_failed"]}, _DOWN)  # 422: a malformed cloudIdHint / siteUrlHint
REQUEST_KEY_ERRORS = apidoc.merge(FORGE_ERRORS, {
    401: ["request_key_missing", "request_key_unknown", "request_key_expired", "request_key_replayed",
          "request_key_revoked"]})
PERMIT_ERRORS = apidoc.merge({401: ["credential_missing", "permit_invalid", "permit_expired", "permit_revoked",
                                    "installation_inactive"],
                              403: ["installation_uninstalled"]}, _DOWN)
# A Forge-delivered event: the token alone (the installation's status is the event's business).
FORGE_EVENT_ERRORS = apidoc.merge({401: FORGE_ERRORS[401], 403: ["forge_event_token_required"]}, _DOWN)
# Routes that compare the path or body with the permit (permits.require_binding) declare this themselves.
PERMIT_BINDING_ERRORS = {403: ["permit_binding_mismatch"]}
FORGE = [{"forgeBearer": []}]
FORGE_AND_KEY = [{"forgeBearer": [], "jiraRequestKey": []}]
PERMIT = [{"taskPermit": []}]


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization: Bearer <token> is required.", code="credential_missing")
    return token.strip()


HINT_PATTERN = re.compile(r"[\x21-\x7e]{1,512}")  # printable ASCII, as resources/fields.HINT


def _hints() -> dict:
    """cloudIdHint / siteUrlHint from the query string or the JSON body. Runs after the token verified; a
    body that does not parse has no hints here and is refused by the route's own reading (json_input)."""
    body = json_input.body_or_none()
    found = {}
    for name in HINT_NAMES:
        value = request.args.get(name)
        if value is None and isinstance(body, dict):
            value = body.get(name)
        if value is None or value == "":
            continue
        if not isinstance(value, str) or not HINT_PATTERN.fullmatch(value):
            raise Invalid(f"{name} must be a string of at most 512 printable ASCII characters.",
                          errors={name: ["Invalid hint."]})
        found[name] = value
    return found


def _jira_caller() -> JiraCaller:
    identity = forge_tokens.verify(_bearer())
    hints = _hints()
    installation = installations.resolve(identity, hints.get("cloudIdHint"), hints.get("siteUrlHint"))
    return JiraCaller(installation, identity)


def _transactional(view, *args, **kwargs):
    """Run the view; commit on success, roll back on any error or 4xx/5xx answer."""
    try:
        response = make_response(view(*args, **kwargs))
    except BaseException:
        db.session.rollback()
        raise
    if response.status_code >= 400:
        db.session.rollback()
    else:
        db.session.commit()
    return response


def forge_bearer(view):
    """Forge invocation token only (the request-key bootstrap). Injects ``caller``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        caller = _jira_caller()
        return _transactional(view, *args, caller=caller, **kwargs)

    return apidoc.declare(wrapper, FORGE_ERRORS, security=FORGE)


def forge_event(view):
    """Forge invocation token of an event that Forge itself delivers (app lifecycle): no request key (Forge holds
    none) and no hints, and the installation is not resolved here, since an uninstalled one must still hear its
    installed event. A token that names a user (`principal`) was minted for a user's invocation of the app, not
    for an event Forge delivers, and is refused: a captured one could otherwise uninstall a site. Injects
    ``identity`` (the verified token)."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        identity = forge_tokens.verify(_bearer())
        if identity.principal:
            raise Forbidden("Lifecycle events come from Forge itself, whose token names no user.",
                            code="forge_event_token_required")
        return _transactional(view, *args, identity=identity, **kwargs)

    return apidoc.declare(wrapper, FORGE_EVENT_ERRORS, security=FORGE)


def _jira_caller_with_key() -> tuple[JiraCaller, request_keys.IssuedKey]:
    """Verify the token, consume the request key and stage the next one, in the request's transaction.

    Fast path (PostgreSQL): one statement consumes the key and answers the installation's row. Anything
    else (unknown installation, a token or hint that teaches something new, a refused key, SQLite) takes the
    path that resolves the installation first and explains a refusal precisely.
    """
    identity = forge_tokens.verify(_bearer())
    hints = _hints()
    presented = request.headers.get(REQUEST_KEY_HEADER, "")
    found = request_keys.consume_with_installation(presented, identity.installation_id, identity.principal or "")
    if found is not None:
        next_key, row = found
        try:
            installation = installations.accept_row(row, identity, hints.get("cloudIdHint"),
                                                    hints.get("siteUrlHint"))
        except BaseException:
            db.session.rollback()  # refused: the key stays unconsumed
            raise
        if installation is not None:
            return JiraCaller(installation, identity), next_key
        db.session.rollback()  # unconsume; resolve() commits what the token teaches, then the key is consumed again
    caller = JiraCaller(installations.resolve(identity, hints.get("cloudIdHint"), hints.get("siteUrlHint")), identity)
    return caller, request_keys.consume(presented, caller.installation.id, caller.principal)


def _with_request_key(view, args, kwargs, **extra):
    caller, next_key = _jira_caller_with_key()
    g.jira_caller = caller
    response = _transactional(view, *args, caller=caller, **extra, **kwargs)
    if response.status_code < 400:
        response.headers[NEXT_KEY_HEADER] = next_key.key
        response.headers["X-SeeCodes-Next-Request-Key-Expires-At"] = str(clock.epoch(next_key.expires_at))
    return response


def forge_request_key(view):
    """Forge bearer plus the chain's current request key. Injects ``caller``."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        return _with_request_key(view, args, kwargs)

    return apidoc.declare(wrapper, REQUEST_KEY_ERRORS, security=FORGE_AND_KEY)


def task_permit(view=None, *, reads: permits.PermitRead | None = None, polls: poll_tags.PollTags | None = None):
    """Task permit bearer. Injects ``permit`` (the binding); routes compare it with what they touch.

    ``@task_permit(reads=...)`` marks a read-only route whose data comes with the permit check in one query:
    the row is injected as ``read``, the query runs in autocommit (one round trip, no BEGIN/COMMIT) and the
    route may not write. With ``polls=`` as well, a conditional request (If-None-Match) whose validator a tag
    in Redis still vouches for is answered 304 after the permit's signature and age, without the query
    (seecodes.poll_tags says what keeps that right); any other answer of the route refreshes the tag.
    """
    if view is None:
        return lambda function: task_permit(function, reads=reads, polls=polls)

    @wraps(view)
    def wrapper(*args, **kwargs):
        if reads is None:
            binding = permits.verify(_bearer())
            return _transactional(view, *args, permit=binding, **kwargs)
        token = _bearer()
        claims = permits.decode(token)
        held = polls.look(claims, kwargs) if polls is not None and request.if_none_match else None
        if held is not None:
            unchanged = polls.answer(held, request.if_none_match)
            if unchanged is not None:
                return unchanged
        with readonly.connection() as connection:  # back in the pool before the view runs
            binding, row = permits.verify_reading(token, reads.statement, reads.params(kwargs), connection,
                                                  claims=claims)
        response = make_response(view(*args, permit=binding, read=row, **kwargs))
        if held is not None and response.status_code in (200, 304) and response.get_etag()[0]:
            polls.remember(held, row, response.get_etag()[0])
        return response

    return apidoc.declare(wrapper, PERMIT_ERRORS, security=PERMIT)


def permit_or_forge_request_key(view):
    """Either credential. Injects ``permit`` and ``caller``.

    The bearer decides: a task permit (by its format) takes the permit path and leaves any request-key header
    alone (never consumed), because a generated client may send every credential of the security list at once
    (hey-api does). Any other bearer with a request key takes the Jira path; without one, the permit path,
    which refuses it.
    """

    @wraps(view)
    def wrapper(*args, **kwargs):
        if REQUEST_KEY_HEADER in request.headers and not permits.looks_like_permit(_bearer()):
            return _with_request_key(view, args, kwargs, permit=None)
        binding = permits.verify(_bearer())
        return _transactional(view, *args, permit=binding, caller=None, **kwargs)

    return apidoc.declare(wrapper, apidoc.merge(PERMIT_ERRORS, REQUEST_KEY_ERRORS), security=PERMIT + FORGE_AND_KEY)


def rate_limited(scope: str, limits):
    """Count each call per client address (ProxyFix resolves it behind trusted proxies)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            limit, window = limits()
            ratelimit.hit(scope, request.remote_addr or "unknown", limit, window)
            return view(*args, **kwargs)

        return apidoc.declare(wrapper, {429: ["rate_limited"]})

    return decorator


def acting_user(caller: JiraCaller, requested: str | None) -> str | None:
    """The user is the token's principal when it has one; a body naming someone else is refused."""
    from ..errors import Forbidden

    if caller.identity.principal:
        if requested and requested != caller.identity.principal:
            raise Forbidden("userAccountId differs from the Forge token's principal.", code="user_mismatch")
        return caller.identity.principal
    return requested
