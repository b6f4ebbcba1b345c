"""Minting, verifying and revoking task permits.

The token carries the permit id and its binding; the row is the binding's source of truth and says
whether it was revoked, the installation whether it is still active. Verification checks all of it with
one query, to which a route may add what it reads itself (one round trip for credential and data).
"""
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import bindparam, select, update

from .. import clock, ids, poll_tags
from ..errors import Forbidden, Unauthorized
from ..extensions import db
from ..installations import service as installations
from ..installations.models import Installation
from ..installations.snapshot import InstallationSnapshot
from .models import Permit

SALT = "seecodes.task-permit.v1"


@dataclass(frozen=True)
class Binding:
    """What a permit is bound to; every permit route compares against this."""

    permit_id: str
    installation_pk: int
    installation_id: str
    project_id: str
    task_id: str
    user_account_id: str | None


@dataclass(frozen=True)
class IssuedPermit:
    permit: str
    permit_id: str
    expires_at: datetime


def _serializer() -> URLSafeTimedSerializer:
    # itsdangerous wants its keys oldest first and signs with the last one.
    keys = list(reversed(current_app.config["SECRET_KEY_FALLBACKS"])) + [current_app.config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=SALT)


def _ttl_seconds() -> int:
    return current_app.config["SEECODES_PERMIT_TTL_SECONDS"]


def mint(installation: Installation | InstallationSnapshot, project_id: str, task_id: str, user_account_id: str | None,
         source: str, permit_id: str | None = None) -> IssuedPermit:
    """Stage the permit row in the caller's transaction and return the signed token."""
    permit_id = permit_id or ids.new_id("pmt_")
    moment = clock.now()
    expires_at = moment + timedelta(seconds=_ttl_seconds())
    db.session.add(
        Permit(
            id=permit_id,
            installation_pk=installation.id,
            project_id=project_id,
            task_id=task_id,
            user_account_id=user_account_id,
            source=source,
            issued_at=moment,
            expires_at=expires_at,
        )
    )
    token = _serializer().dumps(
        {"pid": permit_id, "ins": installation.installation_id, "p": project_id, "t": task_id, "u": user_account_id}
    )
    return IssuedPermit(token, permit_id, expires_at)


# What mint() makes: itsdangerous's URL-safe timed token, "[.]payload.timestamp.signature" in base64url ('.' first
# when the payload is zlib-compressed), with a timestamp of at most 8 bytes and an HMAC-SHA1 signature (20 bytes,
# 27 characters). A Forge token (a JWS: JSON header, JSON claims, a 342-character RS256 signature) never has it.
PERMIT_FORMAT = re.compile(r"\.?[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{1,11}\.[A-Za-z0-9_-]{27}")


def looks_like_permit(token: str) -> bool:
    """Whether a bearer has the permit's format: it says which credential a caller meant, not that it is valid
    (verify() still decides that)."""
    return PERMIT_FORMAT.fullmatch(token) is not None


def decode(token: str) -> dict:
    """Signature and age of the token; 401 for any failure. The row is checked by verify()."""
    try:
        claims = _serializer().loads(token, max_age=_ttl_seconds())
    except SignatureExpired:
        raise Unauthorized("The task permit has expired; launch the task again.", code="permit_expired")
    except BadSignature:
        raise Unauthorized("The task permit is not valid.", code="permit_invalid")
    if not isinstance(claims, dict) or not isinstance(claims.get("pid"), str):
        raise Unauthorized("The task permit is not valid.", code="permit_invalid")
    return claims


PERMITS = Permit.__table__
INSTALLATIONS = Installation.__table__
# Built once: the permit row and its installation's status, by permit id (one indexed lookup).
_CHECK = (
    select(PERMITS.c.installation_pk, PERMITS.c.project_id, PERMITS.c.task_id, PERMITS.c.user_account_id,
           PERMITS.c.revoked_at, PERMITS.c.expires_at, INSTALLATIONS.c.status.label("installation_status"),
           INSTALLATIONS.c.installation_id)
    .select_from(PERMITS.join(INSTALLATIONS, INSTALLATIONS.c.id == PERMITS.c.installation_pk))
    .where(PERMITS.c.id == bindparam("permit_id"))
)


@dataclass(frozen=True)
class PermitRead:
    """The permit check extended with what a route reads, sent as one query; ``params`` maps the view's
    keyword arguments to the statement's own parameters."""

    statement: object
    params: Callable[[dict], dict]


def check_statement(extend=None):
    """The permit check as one SELECT; ``extend(select)`` may add columns and outer joins to it, so that a
    route reads what it needs in the same round trip (build it once: see runs.service.STATUS_WITH_PERMIT)."""
    return _CHECK if extend is None else extend(_CHECK)


def binding_from_row(claims: dict, row) -> Binding:
    """Revocation, expiry and installation status from the stored row; the binding is the row's too.

    The signature only proves that some signing key (current or fallback) made the token, so a payload
    that disagrees with its row is refused, not believed.
    """
    if row is None or (claims.get("ins"), claims.get("p"), claims.get("t"), claims.get("u")) != (
            row.installation_id, row.project_id, row.task_id, row.user_account_id):
        raise Unauthorized("The task permit is not known.", code="permit_invalid")
    if row.installation_status == installations.UNINSTALLED:
        raise installations.uninstalled()
    if row.revoked_at is not None:
        raise Unauthorized("The task permit was revoked.", code="permit_revoked")
    if row.expires_at <= clock.now():
        raise Unauthorized("The task permit has expired; launch the task again.", code="permit_expired")
    if row.installation_status != "active":
        raise Unauthorized("The installation of this permit is not active.", code="installation_inactive")
    return Binding(claims["pid"], row.installation_pk, row.installation_id, row.project_id, row.task_id,
                   row.user_account_id)


def verify_reading(token: str, statement=_CHECK, params: dict | None = None, connection=None, claims=None):
    """verify() with a statement made by check_statement(extend) and its own parameters; answers the binding
    and the row, so the caller also has what its extension read. `claims`: what decode(token) answered already."""
    claims = claims if claims is not None else decode(token)
    connection = connection if connection is not None else db.session.connection()
    row = connection.execute(statement, {**(params or {}), "permit_id": claims["pid"]}).one_or_none()
    return binding_from_row(claims, row), row


def verify(token: str) -> Binding:
    """Signature, age, revocation and installation status, with one query; 401 for any failure."""
    return verify_reading(token)[0]


def require_binding(binding: Binding, project_id: str | None = None, task_id: str | None = None) -> None:
    """403 unless the request names exactly the permit's project and task."""
    if project_id is not None and project_id != binding.project_id:
        raise Forbidden("This permit is bound to another project.", code="permit_binding_mismatch")
    if task_id is not None and task_id != binding.task_id:
        raise Forbidden("This permit is bound to another task.", code="permit_binding_mismatch")


def revoke(permit_id: str) -> None:
    revoked = db.session.execute(
        update(Permit).where(Permit.id == permit_id, Permit.revoked_at.is_(None)).values(revoked_at=clock.now())
        .returning(Permit.installation_pk)
    ).scalar_one_or_none()
    if revoked is not None:
        _tell_pollers(revoked)


def revoke_matching(installation_pk: int, moment: datetime, *, user_account_id: str | None = None,
                    project_id: str | None = None, task_id: str | None = None, permit_id: str | None = None) -> int:
    """Revoke the installation's live permits (all, one user's, one task's or one by id) with one UPDATE in the
    caller's transaction; answers how many. Every check reads the row, or a tag in Redis that the commit
    invalidates (seecodes.poll_tags), so it takes effect at once."""
    conditions = [Permit.installation_pk == installation_pk, Permit.revoked_at.is_(None), Permit.expires_at > moment]
    for column, value in ((Permit.user_account_id, user_account_id), (Permit.project_id, project_id),
                          (Permit.task_id, task_id), (Permit.id, permit_id)):
        if value is not None:
            conditions.append(column == value)
    revoked = db.session.execute(
        update(Permit).where(*conditions).values(revoked_at=moment).execution_options(synchronize_session=False)
    ).rowcount
    if revoked:
        _tell_pollers(installation_pk)
    return revoked


def _tell_pollers(installation_pk: int) -> None:
    """Conditional polls answered from Redis (seecodes.poll_tags) stop vouching for the installation's permits
    once the revocation commits."""
    installation_id = db.session.execute(
        select(INSTALLATIONS.c.installation_id).where(INSTALLATIONS.c.id == installation_pk)).scalar_one()
    poll_tags.installation_changed(db.session, installation_id)
