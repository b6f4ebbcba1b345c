"""Readiness checks (GET /readyz; reusable by `flask doctor`): plain functions, each answering a Check."""
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from flask import current_app, request
from sqlalchemy import func, select, text

from . import clock, ids, settings, storage
from .extensions import db
from .queueing import redis_connection
from .runs.models import QUEUED, Run
from .settings import setting


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    facts: dict = field(default_factory=dict)
    reason: str = ""  # a short code of what failed: all that an anonymous caller is told

    def document(self) -> dict:
        return {"ok": self.ok, "detail": self.detail, **self.facts, **({"reason": self.reason} if not self.ok else {})}


@dataclass(frozen=True)
class Report:
    """GET /readyz's answer. Anonymous callers (load balancers, anyone on the internet) learn the status and
    reason codes; the details (endpoints, bucket, queue name, worker count, queue age) need the metrics token."""

    ok: bool
    detail: str
    fields: dict


def operator_asking() -> bool:
    """The request carries the metrics bearer token (SEECODES_METRICS_TOKEN), so it may read the details."""
    token = settings.metrics_token()
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and ids.same(presented.strip(), token)


def report(checks: list[Check], detailed: bool) -> Report:
    failed = [check for check in checks if not check.ok]
    if detailed:
        return Report(not failed, " ".join(check.detail for check in failed),
                      {"checks": {check.name: check.document() for check in checks}})
    reasons = [check.reason for check in failed]
    return Report(not failed, f"Not ready: {', '.join(reasons)}." if failed else "", {"reasons": reasons} if failed
                  else {})


def database() -> Check:
    try:
        db.session.execute(text("SELECT 1"))
        return Check("database", True, "The database answers.")
    except Exception as error:  # any failure to answer is the finding
        db.session.rollback()
        return Check("database", False, f"The database does not answer ({error.__class__.__name__}): check "
                                        "DATABASE_URL and that the server is up.", reason="database_down")


def redis() -> Check | None:
    """None on the embedded default (no REDIS_URL)."""
    connection = redis_connection()
    if connection is None:
        return None
    try:
        connection.ping()
        return Check("redis", True, "Redis answers.")
    except Exception as error:
        return Check("redis", False, f"Redis does not answer ({error.__class__.__name__}): check REDIS_URL and "
                                     "that the server is up; runs cannot be started meanwhile.", reason="redis_down")


def object_storage() -> Check:
    try:
        problem = storage.check()
    except Exception as error:
        problem = f"Object storage cannot be checked ({error.__class__.__name__})."
    if problem is None and current_app.config["SEECODES_STORAGE"] == "local":
        return local_storage_space()
    return Check("storage", problem is None, problem or "The object store can be used.", reason="storage_unusable")


def local_storage_space() -> Check:
    """Local storage must have room for at least one upload of the largest size allowed: below that, uploads
    answer 507 insufficient_storage and runs cannot write their results."""
    root = Path(current_app.config["SEECODES_STORAGE_DIR"])
    folder = next((folder for folder in (root, *root.parents) if folder.exists()), root)
    try:
        found = os.statvfs(folder)
    except OSError as error:
        return Check("storage", False, f"The storage folder {str(root)!r} cannot be inspected ({error.strerror}).",
                     reason="storage_unusable")
    free, needed = found.f_bavail * found.f_frsize, setting("SEECODES_MAX_UPLOAD_BYTES")
    if free < needed or (found.f_files and found.f_favail == 0):  # f_files 0: no inode limit (btrfs)
        return Check("storage", False, f"The storage folder {str(root)!r} is full ({free} bytes free, less than one "
                                       f"upload of {needed} bytes): free space or move SEECODES_STORAGE_DIR.",
                     {"freeBytes": free}, reason="storage_full")
    return Check("storage", True, "The object store can be used.", {"freeBytes": free})


def live_workers(connection, queue_name: str) -> int:
    """RQ workers of the queue that heartbeat within 3 heartbeat periods (+5 s); a worker killed without
    deregistering stays listed by RQ for minutes, so being listed is not enough. Raises if Redis fails."""
    from rq import Queue, Worker

    limit = 3 * setting("SEECODES_WORKER_HEARTBEAT_SECONDS") + 5
    found = Worker.all(connection=connection, queue=Queue(queue_name, connection=connection))
    now = datetime.now(timezone.utc)  # RQ's clock, not the service's (which tests may shift)
    return sum(1 for worker in found
               if worker.last_heartbeat is not None and (now - _aware(worker.last_heartbeat)).total_seconds() <= limit)


def workers() -> Check | None:
    """At least one RQ worker of the run queue heartbeating recently; None on the embedded default."""
    connection = redis_connection()
    if connection is None:
        return None
    queue_name = current_app.config["SEECODES_RUN_QUEUE"]
    try:
        live = live_workers(connection, queue_name)
    except Exception as error:
        return Check("workers", False, f"Workers cannot be listed ({error.__class__.__name__}).",
                     reason="workers_unlisted")
    if not live:
        limit = 3 * setting("SEECODES_WORKER_HEARTBEAT_SECONDS") + 5
        return Check("workers", False, f"No live worker serves the queue {queue_name!r} (none heartbeat within "
                                       f"{limit} s): start one with `make worker`.", {"live": 0},
                     reason="no_live_worker")
    return Check("workers", True, f"{live} live worker(s) serve the queue {queue_name!r}.", {"live": live})


def oldest_queued_seconds() -> float:
    """How long the oldest queued run has waited (0 when none); the caller handles database errors."""
    oldest = db.session.execute(select(func.min(Run.queued_at)).where(Run.status == QUEUED)).scalar()
    return 0.0 if oldest is None else max(0.0, (clock.now() - oldest).total_seconds())


def queue_age() -> Check:
    """How long the oldest queued run has waited; too long means the workers do not keep up (or are gone)."""
    try:
        age = int(oldest_queued_seconds())
    except Exception as error:
        db.session.rollback()
        return Check("queue", False, f"Queued runs cannot be read ({error.__class__.__name__}).",
                     reason="queue_unreadable")
    limit = setting("SEECODES_READY_MAX_QUEUE_AGE_SECONDS")
    if age > limit:
        return Check("queue", False, f"The oldest queued run has waited {age} s (more than {limit} s): add "
                                     "workers or check that they run.", {"oldestQueuedSeconds": age},
                     reason="queue_too_old")
    return Check("queue", True, "Queued runs do not wait too long.", {"oldestQueuedSeconds": age})


def _aware(moment):
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def run_all() -> list[Check]:
    """Every check that applies to this configuration, database first."""
    checks = [database()]
    checks += [check for check in (redis(), object_storage(), workers()) if check is not None]
    if checks[0].ok:
        checks.append(queue_age())
    return checks
