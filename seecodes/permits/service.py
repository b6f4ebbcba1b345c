"""Minting, verifying and revoking task permits.

The token carries the permit id and its binding; the row is the binding's source of truth and says
whether it was revoked, the installation whether it is still active. Verification reads both with one query.
"""
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from .. import clock, ids
from ..errors import Forbidden, Unauthorized
from ..extensions import db
from ..installations.models import Installation
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


def mint(installation: Installation, project_id: str, task_id: str, user_account_id: str | None,
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


def verify(token: str) -> Binding:
    """Signature, age, revocation and installation status; 401 for any failure.

    The binding is the stored row's: the signature only proves that some signing key (current or
    fallback) made the token, so a payload that disagrees with its row is refused, not believed.
    """
    try:
        claims = _serializer().loads(token, max_age=_ttl_seconds())
    except SignatureExpired:
        raise Unauthorized("The task permit has expired; launch the task again.", code="permit_expired")
    except BadSignature:
        raise Unauthorized("The task permit is not valid.", code="permit_invalid")
    if not isinstance(claims, dict) or not isinstance(claims.get("pid"), str):
        raise Unauthorized("The task permit is not valid.", code="permit_invalid")
    row = db.session.execute(
        select(Permit.installation_pk, Permit.project_id, Permit.task_id, Permit.user_account_id,
               Permit.revoked_at, Permit.expires_at, Installation.status, Installation.installation_id)
        .join(Installation, Installation.id == Permit.installation_pk)
        .where(Permit.id == claims["pid"])
    ).one_or_none()
    if row is None or (claims.get("ins"), claims.get("p"), claims.get("t"), claims.get("u")) != (
            row.installation_id, row.project_id, row.task_id, row.user_account_id):
        raise Unauthorized("The task permit is not known.", code="permit_invalid")
    if row.revoked_at is not None:
        raise Unauthorized("The task permit was revoked.", code="permit_revoked")
    if row.expires_at <= clock.now():
        raise Unauthorized("The task permit has expired; launch the task again.", code="permit_expired")
    if row.status != "active":
        raise Unauthorized("The installation of this permit is not active.", code="installation_inactive")
    return Binding(claims["pid"], row.installation_pk, row.installation_id, row.project_id, row.task_id,
                   row.user_account_id)


def require_binding(binding: Binding, project_id: str | None = None, task_id: str | None = None) -> None:
    """403 unless the request names exactly the permit's project and task."""
    if project_id is not None and project_id != binding.project_id:
        raise Forbidden("This permit is bound to another project.", code="permit_binding_mismatch")
    if task_id is not None and task_id != binding.task_id:
        raise Forbidden("This permit is bound to another task.", code="permit_binding_mismatch")


def revoke(permit_id: str) -> None:
    db.session.execute(
        update(Permit).where(Permit.id == permit_id, Permit.revoked_at.is_(None)).values(revoked_at=clock.now())
    )
