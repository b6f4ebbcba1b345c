"""Data retention: `prune(now)` removes spent credentials, old security events and run data past its lifetime
(seecodes/runs/lifetime.py) (periodic task, CLI)."""
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select

from . import clock, prometheus, settings
from .audit.models import SecurityEvent
from .extensions import db
from .launch_codes.models import LaunchCode
from .permits.models import Permit
from .request_keys.models import RequestKey
from .runs import lifetime

log = logging.getLogger(__name__)

BATCH = 5000  # rows per DELETE, so one pass never holds long locks on a big backlog
# After each full batch the pass rests (outside any transaction) this many times as long as the batch took:
# a backlog of millions of rows is then deleted with at most about half of one connection's time, and more
# slowly when the database is busy. Flat out, the prune of a 7,000,000-row backlog beside the load made the
# Jira route's p99 1.5x to 2.2x its p99 without it on a 2-core machine; resting, 1.1x to 1.4x (bench/growth.py).
REST = 1.0

# The indexes the pruning reads by (part of the schema: migration 0007).
INDEXES = [
    db.Index("ix_request_keys_expires_at", RequestKey.__table__.c.expires_at),
    db.Index("ix_launch_codes_expires_at", LaunchCode.__table__.c.expires_at),
    db.Index("ix_permits_expires_at", Permit.__table__.c.expires_at),
    db.Index("ix_security_events_created_at", SecurityEvent.__table__.c.created_at),
]


@dataclass
class Pruned:
    rows: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def __str__(self):
        return ", ".join(f"{count} {table}" for table, count in self.rows.items())


def prune_interval(app=None) -> float:
    """Seconds between the scheduler's pruning passes (SEECODES_PRUNE_INTERVAL_SECONDS)."""
    return settings.value("SEECODES_PRUNE_INTERVAL_SECONDS", app)


def retention_days(name: str, app=None) -> int:
    """How long spent credentials (SEECODES_CREDENTIAL_RETENTION_DAYS) or security events
    (SEECODES_SECURITY_EVENT_RETENTION_DAYS) are kept, so a replay is still recognised as one and an audit can
    read them. Validated at every pass (settings.ConfigError): a value an override made unusable after the start
    prunes nothing."""
    return settings.value(name, app)


def _spent_launch_codes(cutoff: datetime, now: datetime):
    """Expired before the cutoff, and no permit minted from the code can still be used: while one can, the
    code must stay, since replaying it is what revokes that permit (even with a retention of 0 days)."""
    usable = exists().where(Permit.id == LaunchCode.permit_id, Permit.expires_at > now, Permit.revoked_at.is_(None))
    return and_(LaunchCode.expires_at < cutoff, ~usable)


def prune(now: datetime | None = None) -> Pruned:
    """One pass in the app context; every table commits on its own. Safe to run from many processes at once:
    each DELETE only removes rows past their retention, so concurrent passes at worst delete nothing."""
    now = now or clock.now()
    credentials_before = now - timedelta(days=retention_days("SEECODES_CREDENTIAL_RETENTION_DAYS"))
    events_before = now - timedelta(days=retention_days("SEECODES_SECURITY_EVENT_RETENTION_DAYS"))
    outcome = Pruned()
    # A live credential always expires in the future, so "expired before the cutoff" covers consumed,
    # superseded and plain expired ones and never touches a working key, code or permit.
    for name, model, spent in (
        ("request_keys", RequestKey, RequestKey.expires_at < credentials_before),
        ("launch_codes", LaunchCode, _spent_launch_codes(credentials_before, now)),
        ("permits", Permit, Permit.expires_at < credentials_before),
        ("security_events", SecurityEvent, SecurityEvent.created_at < events_before),
    ):
        outcome.rows[name] = _delete_where(model, spent)
        prometheus.PRUNED_ROWS.labels(name).inc(outcome.rows[name])
    for name, count in lifetime.prune(now).rows().items():  # expired unstarted runs, settled runs' data
        outcome.rows[name] = count
        prometheus.PRUNED_ROWS.labels(name).inc(count)
    if outcome.total:
        log.info("retention: pruned %s", outcome)
    return outcome


def _delete_where(model, spent) -> int:
    """Delete in batches, each committed: pruning is a periodic job's or a command's work, never a request's, and
    short transactions keep its row locks (and PostgreSQL's dead tuples) small while the service runs."""
    removed = 0
    while True:
        started = time.monotonic()
        batch = select(model.id).where(spent).limit(BATCH).scalar_subquery()
        result = db.session.execute(delete(model).where(model.id.in_(batch))
                                    .execution_options(synchronize_session=False))
        db.session.commit()
        removed += result.rowcount or 0
        if (result.rowcount or 0) < BATCH:
            return removed
        time.sleep(REST * (time.monotonic() - started))
