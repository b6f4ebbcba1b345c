"""Access-pattern decorators: Forge bearer (+ request key), task permit, or either.

Each guard owns the request's one transaction (_transaction): the credential check's writes (the consumption
of the request key and the next key, what the token teaches about its installation) and the route's work are
committed together when the route answers 2xx/3xx, and rolled back otherwise, so a failed route consumes and
changes nothing. Services only stage. What commits on its own is what must outlive a refused request (a
refusal's security event, audit.record; the first sight of a tenant, installations.service._provision; see
docs/architecture.md). The next request key is only announced after the commit.
"""
import re
from dataclasses import dataclass
from functools import wraps

from flask import make_response, request

from .. import apidoc, clock, json_input, poll_tags, ratelimit, readonly
from ..errors import Forbidden, Invalid, Unauthorized
from ..extensions import db
from ..forge import tokens as forge_tokens
from ..installations import service as installations
from ..installations.snapshot import InstallationSnapshot
from ..permits import service as permits
from ..request_keys import service as request_keys

REQUEST_KEY_HEADER = "X-SeeCodes-Jira-Request-Key"
NEXT_KEY_HEADER = "X-SeeCodes-Next-Request-Key"
HINT_NAMES = ("cloudIdHint", "siteUrlHint")


@dataclass(frozen=True)
class JiraCaller:
    """The Jira app's verified identity and its installation, as a snapshot built on every path (the request-key
    statement's row or the ORM's) once what the request teaches is staged."""

    installation: InstallationSnapshot
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


def _transaction(answer):
    """The request's one transaction around the credential check and the route (``answer()`` runs both): commit
    on a 2xx/3xx answer, roll back on any error or 4xx/5xx answer."""
    try:
        response = make_response(answer())
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
        return _transaction(lambda: view(*args, caller=_jira_caller(), **kwargs))

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
        return _transaction(lambda: view(*args, identity=identity, **kwargs))

    return apidoc.declare(wrapper, FORGE_EVENT_ERRORS, security=FORGE)


def _jira_caller_with_key() -> tuple[JiraCaller, request_keys.IssuedKey]:
    """Verify the token, consume the request key and stage the next one and what the token teaches, in the
    request's transaction.

    request_keys.consume answers the installation with the consumption (on PostgreSQL in the same statement).
    A key that matched nothing is explained once the installation is resolved (provisioned if new), so that the
    tenant's own refusals (a contradicting hint, an inactive installation) come first, as for a matched key.
    """
    identity = forge_tokens.verify(_bearer())
    hints = _hints()
    cloud_id_hint, site_url_hint = hints.get("cloudIdHint"), hints.get("siteUrlHint")
    presented = request.headers.get(REQUEST_KEY_HEADER, "")
    principal = identity.principal or ""
    consumed = request_keys.consume(presented, identity.installation_id, principal)
    if consumed is None:
        installation = installations.resolve(identity, cloud_id_hint, site_url_hint)
        request_keys.refuse(presented, installation.id, principal)
    installation = installations.accept(consumed.installation, identity, cloud_id_hint, site_url_hint)
    return JiraCaller(installation, identity), consumed.next_key


def _with_request_key(view, args, kwargs, **extra):
    issued = []

    def answer():
        caller, next_key = _jira_caller_with_key()
        issued.append(next_key)
        return view(*args, caller=caller, **extra, **kwargs)

    response = _transaction(answer)
    if response.status_code < 400:
        response.headers[NEXT_KEY_HEADER] = issued[0].key
        response.headers["X-SeeCodes-Next-Request-Key-Expires-At"] = str(clock.epoch(issued[0].expires_at))
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
            return _transaction(lambda: view(*args, permit=permits.verify(_bearer()), **kwargs))
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
        return _transaction(lambda: view(*args, permit=permits.verify(_bearer()), caller=None, **kwargs))

    return apidoc.declare(wrapper, apidoc.merge(PERMIT_ERRORS, REQUEST_KEY_ERRORS), security=PERMIT + FORGE_AND_KEY)


def transactional(view):
    """The request's one transaction for a route whose credential is its own work (the launch exchange consumes
    the code it is given and mints the permit): committed or rolled back as a guard's."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        return _transaction(lambda: view(*args, **kwargs))

    return wrapper


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
