"""Run data lifetime: unstarted runs expire, settled runs' data is removed after the retention, and an
installation's open (initialized) runs are capped (docs/runs.md, "Run data lifetime").

The rules are plain functions of values; `expire_unstarted` and `remove_settled_data` are the two passes
that `retention.prune` (the `flask maintenance prune` command and the periodic maintenance) runs.
"""
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from .. import storage
from ..errors import Conflict, DomainError
from ..extensions import db
from ..storage import keys
from . import state
from .models import FAILED, FINAL_STATUSES, INITIALIZED
from ..settings import setting

log = logging.getLogger(__name__)

RUNS, LOG_LINES = state.RUNS, state.LOG_LINES
BATCH = 200  # runs per database round of a pass; each run's objects are deleted one run at a time


# --- rules ----------------------------------------------------------------------------------------------------

def open_since(now: datetime, init_ttl_seconds: int) -> datetime:
    """Runs initialized after this moment may still be started (and count against the open-run cap)."""
    return now - timedelta(seconds=init_ttl_seconds)


def has_expired(created_at: datetime, now: datetime, init_ttl_seconds: int) -> bool:
    """An initialized run expires init_ttl_seconds after its init (the moment itself included)."""
    return created_at <= open_since(now, init_ttl_seconds)


def data_kept_since(now: datetime, retention_days: int) -> datetime:
    """Settled runs that finished before this moment have their inputs, results and log removed."""
    return now - timedelta(days=retention_days)


def was_expired(status: str, queued_at: datetime | None) -> bool:
    """An expired run is a failed run that was never queued: only the expiry fails a run before its start."""
    return status == FAILED and queued_at is None


def duration(seconds: int) -> str:
    """A lifetime in the largest unit that divides it: 86400 -> "24 h", 1800 -> "30 min", 90 -> "90 s"."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def expiry_error(init_ttl_seconds: int) -> str:
    """The `error` of an expired run (status polls show it)."""
    return (f"The run was not started within {duration(init_ttl_seconds)} of its init: it expired and its "
            "uploads were deleted. Initialize a new run.")


class TooManyOpenRuns(Conflict):
    code = "too_many_open_runs"


class RunExpired(Conflict):
    code = "run_expired"


class RunDataRemoved(DomainError):
    status, code = 410, "run_data_removed"


def too_many_open_runs(max_open_runs: int, init_ttl_seconds: int) -> TooManyOpenRuns:
    return TooManyOpenRuns(
        f"This installation already has {max_open_runs} runs waiting for their start, the most it may have: "
        f"start them, or wait until unstarted runs expire ({duration(init_ttl_seconds)} after their init).",
        maxOpenRuns=max_open_runs)


def run_expired(init_ttl_seconds: int) -> RunExpired:
    return RunExpired(expiry_error(init_ttl_seconds))


def data_removed(retention_days: int) -> RunDataRemoved:
    return RunDataRemoved(f"The run's inputs, output and log were removed {retention_days} days after it settled "
                          "(the installation's data retention); its status remains.")


# --- the passes -----------------------------------------------------------------------------------------------

@dataclass
class Outcome:
    expired: list[str] = field(default_factory=list)  # initialized runs failed as expired
    removed: list[str] = field(default_factory=list)  # settled runs whose data was removed
    objects: int = 0  # storage objects deleted by both passes

    def rows(self) -> dict[str, int]:
        return {"expired_runs": len(self.expired), "run_data": len(self.removed), "run_objects": self.objects}


def prune(now: datetime) -> Outcome:
    """Both passes, in the app context; safe beside other passes and starts (every change is conditional)."""
    outcome = Outcome()
    store = storage.get()
    expire_unstarted(now, store, outcome)
    remove_settled_data(now, store, outcome)
    return outcome


def expire_unstarted(now: datetime, store, outcome: Outcome) -> None:
    """initialized runs past their init TTL -> failed (with expiry_error), then their objects are deleted.
    The move is conditional and committed first, so a start that won the race keeps its inputs; a store that
    fails here leaves the objects to the retention pass (the run's prefix is removed again then)."""
    ttl = setting("SEECODES_RUN_INIT_TTL_SECONDS")
    cutoff, error = open_since(now, ttl), expiry_error(ttl)
    deleting = True
    while True:
        found = db.session.execute(
            select(RUNS.c.id).where(RUNS.c.status == INITIALIZED, RUNS.c.created_at <= cutoff)
            .order_by(RUNS.c.created_at).limit(BATCH)).scalars().all()
        db.session.rollback()
        for run_id in found:
            if not state.fail(run_id, error, (INITIALIZED,), RUNS.c.created_at <= cutoff):
                db.session.rollback()  # started meanwhile
                continue
            db.session.commit()
            outcome.expired.append(run_id)
            if deleting:
                deleting = _delete_objects(store, run_id, outcome)
        if len(found) < BATCH:
            return


def remove_settled_data(now: datetime, store, outcome: Outcome) -> None:
    """Settled runs that finished before the retention: every object under runs/<runId>/ and the log lines
    are removed, the run row (status, credits, usage) stays with data_removed_at set. Stops at the first
    store failure (the next pass goes on from there)."""
    days = setting("SEECODES_RUN_DATA_RETENTION_DAYS")
    cutoff = data_kept_since(now, days)
    while True:
        found = db.session.execute(
            select(RUNS.c.id).where(RUNS.c.data_removed_at.is_(None), RUNS.c.finished_at <= cutoff,
                                    RUNS.c.status.in_(FINAL_STATUSES))
            .order_by(RUNS.c.finished_at).limit(BATCH)).scalars().all()
        db.session.rollback()
        cleared = []
        for run_id in found:
            if not _delete_objects(store, run_id, outcome):
                break
            cleared.append(run_id)
        if cleared:
            db.session.execute(delete(LOG_LINES).where(LOG_LINES.c.run_id.in_(cleared)))
            db.session.execute(update(RUNS).where(RUNS.c.id.in_(cleared), RUNS.c.data_removed_at.is_(None))
                               .values(data_removed_at=now, output_key=None, result_zip_key=None))
            db.session.commit()
            outcome.removed += cleared
        if len(cleared) < BATCH:
            return


def _delete_objects(store, run_id: str, outcome: Outcome) -> bool:
    """Delete the run's objects; False (logged) when the store failed."""
    try:
        outcome.objects += store.delete_prefix(keys.run_prefix(run_id))
    except (DomainError, OSError) as error:
        log.warning("run data lifetime: could not delete the objects of %s (%s)", run_id,
                    getattr(error, "detail", error))
        return False
    return True
