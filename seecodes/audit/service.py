"""Recording security events in their own transaction, so a refused request still leaves a trace."""
import logging

from flask import has_request_context, request

from ..extensions import db
from .models import SecurityEvent

log = logging.getLogger("seecodes.security")

# What well-behaved clients cause while recovering (a lost response, a retry, a stale tab): kept for
# review but logged at INFO, so that the WARNING lines are the misuse worth looking at.
EXPECTED_KINDS = frozenset({"request_key_retried", "request_key_superseded"})


def severity(kind: str) -> str:
    """``expected`` for the recovery events of EXPECTED_KINDS, ``suspicious`` for every other kind."""
    return "expected" if kind in EXPECTED_KINDS else "suspicious"


def record(kind: str, installation_pk: int | None = None, **details) -> None:
    """Roll back the failed request's work, then commit the event on its own."""
    addr = request.remote_addr if has_request_context() else None
    details = {**details, "severity": severity(kind)}
    level = logging.INFO if kind in EXPECTED_KINDS else logging.WARNING
    log.log(level, "security event %s installation=%s %s", kind, installation_pk, details)
    try:
        db.session.rollback()
        db.session.add(SecurityEvent(kind=kind, installation_pk=installation_pk, client_addr=addr, details=details))
        db.session.commit()
    except Exception:  # auditing must never turn a 401 into a 500
        db.session.rollback()
        log.exception("could not record security event %s", kind)
