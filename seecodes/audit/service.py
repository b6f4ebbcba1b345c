"""Recording security events: in their own transaction, so a refused request still leaves a trace, or staged with
the work they describe (a revocation, an uninstall), so the two commit together."""
import logging

from flask import has_request_context, request
from sqlalchemy import select

from ..extensions import db
from .models import SecurityEvent

log = logging.getLogger("seecodes.security")

# What well-behaved clients cause while recovering (a lost response, a retry, a stale tab): kept for
# review but logged at INFO, so that the WARNING lines are the misuse worth looking at.
EXPECTED_KINDS = frozenset({"request_key_retried", "request_key_superseded"})
# What Forge's lifecycle events and operators do (an uninstall, a reactivation, a revocation): the record of an
# installation's history, logged at INFO too.
OPERATIONAL_KINDS = frozenset({"installation_installed", "installation_reactivated", "installation_upgraded",
                               "installation_uninstalled", "credentials_revoked"})


def severity(kind: str) -> str:
    """``expected`` for the recovery events of EXPECTED_KINDS, ``operational`` for OPERATIONAL_KINDS,
    ``suspicious`` for every other kind."""
    if kind in OPERATIONAL_KINDS:
        return "operational"
    return "expected" if kind in EXPECTED_KINDS else "suspicious"


def _level(kind: str) -> int:
    return logging.WARNING if severity(kind) == "suspicious" else logging.INFO


def record(kind: str, installation_pk: int | None = None, **details) -> None:
    """Roll back the failed request's work, then commit the event on its own: the one commit of a refusal, made
    here rather than by the guard because the guard rolls the refused request back, and the trace must stay."""
    addr = request.remote_addr if has_request_context() else None
    details = {**details, "severity": severity(kind)}
    log.log(_level(kind), "security event %s installation=%s %s", kind, installation_pk, details)
    try:
        db.session.rollback()
        db.session.add(SecurityEvent(kind=kind, installation_pk=installation_pk, client_addr=addr, details=details))
        db.session.commit()
    except Exception:  # auditing must never turn a 401 into a 500
        db.session.rollback()
        log.exception("could not record security event %s", kind)


def stage(kind: str, installation_pk: int | None = None, **details) -> None:
    """Add the event to the caller's transaction: it exists exactly when the work it records commits."""
    addr = request.remote_addr if has_request_context() else None
    details = {**details, "severity": severity(kind)}
    log.log(_level(kind), "security event %s installation=%s %s", kind, installation_pk, details)
    db.session.add(SecurityEvent(kind=kind, installation_pk=installation_pk, client_addr=addr, details=details))


def recent(installation_pk: int, limit: int = 10) -> list[SecurityEvent]:
    """The installation's newest events, newest first (indexed by installation_pk)."""
    return list(db.session.execute(
        select(SecurityEvent).where(SecurityEvent.installation_pk == installation_pk)
        .order_by(SecurityEvent.id.desc()).limit(limit)
    ).scalars())
