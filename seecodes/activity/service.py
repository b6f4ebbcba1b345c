"""Storing activity snapshots once per (installation, project, task, user, window)."""
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction

from sqlalchemy import delete, false, select, text

from .. import clock
from ..extensions import db
from .. import sql
from ..permits.service import Binding
from . import formula
from .models import ActivitySnapshot


# What one window can claim: effort is self-reported, so the formula counts at most these per snapshot
# (the stored snapshot keeps the values as sent).
MAX_COUNTED_LOC = 10_000
MAX_COUNTED_FILES = 1_000
# changedFiles kept per snapshot (the first distinct paths, in the order sent); changedFilesCount still
# counts them all. Bounds what the team-competition board answers per item.
MAX_STORED_CHANGED_FILES = 100
# The longest window a snapshot may have (the body's schema refuses longer ones), so an earlier window that
# overlaps [started, ended) started after started - MAX_WINDOW: the overlap read is a bounded index range
# whatever the task's history.
MAX_WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class StoredSnapshot:
    stored: bool
    timestamp: datetime
    effort_units: int


def snapshot_inputs(body: dict) -> formula.EffortInputs:
    """The formula's inputs with the documented defaults: locTotal = locAdded + locRemoved and
    changedFilesCount = the number of distinct changedFiles."""
    loc_total = body.get("locTotal")
    if loc_total is None:
        loc_total = body.get("locAdded", 0) + body.get("locRemoved", 0)
    changed_files_count = body.get("changedFilesCount")
    if changed_files_count is None:
        changed_files_count = len(set(body.get("changedFiles") or ()))
    return formula.EffortInputs(
        human_active_ms=body.get("humanActiveMs", 0),
        loc_total=loc_total,
        changed_files_count=changed_files_count,
        architecture_change=bool(body.get("architectureChange")),
        logic_change=bool(body.get("logicChange")),
        specification_ui_change=bool(body.get("specificationUiChange")),
    )


def counted_inputs(inputs: formula.EffortInputs) -> formula.EffortInputs:
    """The inputs as the formula counts them: lines and files clamped to what one window can claim."""
    return formula.EffortInputs(
        human_active_ms=inputs.human_active_ms,
        loc_total=min(inputs.loc_total, MAX_COUNTED_LOC),
        changed_files_count=min(inputs.changed_files_count, MAX_COUNTED_FILES),
        architecture_change=inputs.architecture_change,
        logic_change=inputs.logic_change,
        specification_ui_change=inputs.specification_ui_change,
    )


def uncovered_share(started: datetime, ended: datetime, earlier: list[tuple[datetime, datetime]]) -> Fraction:
    """The share of [started, ended) that no earlier window covers (1 = none of it, 0 = all of it)."""
    spans = sorted((max(s, started), min(e, ended)) for s, e in earlier if s < ended and e > started)
    covered, reach = timedelta(0), started
    for span_start, span_end in spans:
        if span_end <= reach:
            continue
        covered += span_end - max(span_start, reach)
        reach = span_end
    length = ended - started
    return Fraction((length - covered) // timedelta(microseconds=1), length // timedelta(microseconds=1))


def window_effort(inputs: formula.EffortInputs, share: Fraction) -> int:
    """Formula v1 of the clamped inputs, counted for the part of the window not claimed before."""
    return formula.round_half_up(formula.exact_effort(counted_inputs(inputs)) * share)


def _earlier_windows(key: dict, started: datetime, ended: datetime) -> list[tuple[datetime, datetime]]:
    """The stored windows of the user and task that overlap [started, ended): a range of the dedupe key's
    index on window_started_at (at most MAX_WINDOW wide), never the task's whole history."""
    scope = {name: value for name, value in key.items() if not name.startswith("window_")}
    rows = db.session.execute(
        select(ActivitySnapshot.window_started_at, ActivitySnapshot.window_ended_at).filter_by(**scope).where(
            ActivitySnapshot.window_started_at > started - MAX_WINDOW, ActivitySnapshot.window_started_at < ended,
            ActivitySnapshot.window_ended_at > started))
    return [(row.window_started_at, row.window_ended_at) for row in rows]


def _serialise_writers(key: dict) -> None:
    """Let one snapshot of a (installation, project, task, user) at a time read the earlier windows and
    insert, until its transaction ends: otherwise parallel posts each read the windows before the others'
    inserts and every one claims the shared stretch in full (16 racing windows scored 354 units, 59 in turn).
    PostgreSQL: an advisory lock on the key. SQLite: a write first takes the database's write lock (which
    only one connection holds), so the read below already sees every committed window."""
    if sql.dialect_name() == "postgresql":
        name = "activity-windows:{installation_pk}:{project_id}:{task_id}:{user_account_id}".format(**key)
        digest = hashlib.sha256(name.encode("utf-8")).digest()
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": int.from_bytes(digest[:8], "big", signed=True)})
    else:
        db.session.execute(delete(ActivitySnapshot).where(false()).execution_options(synchronize_session=False))


def record(permit: Binding, body: dict) -> StoredSnapshot:
    """Insert unless the same window of the same task and user exists; race-safe via ON CONFLICT DO NOTHING.
    Overlapping windows of one user and task count once: the later one claims only the uncovered part
    (writers of one user and task are serialised, so "later" is the commit order)."""
    inputs = snapshot_inputs(body)
    started = clock.to_utc_naive(body["windowStartedAt"])
    ended = clock.to_utc_naive(body["windowEndedAt"])
    task_started = body.get("taskStartedAt")
    key = {
        "installation_pk": permit.installation_pk,
        "project_id": permit.project_id,
        "task_id": permit.task_id,
        "user_account_id": permit.user_account_id or "",
        "window_started_at": started,
        "window_ended_at": ended,
    }
    _serialise_writers(key)
    effort = window_effort(inputs, uncovered_share(started, ended, _earlier_windows(key, started, ended)))
    statement = sql.insert(ActivitySnapshot).values(
        **key,
        task_started_at=clock.to_utc_naive(task_started) if task_started else None,
        task_age_minutes=body.get("taskAgeMinutes"),
        human_active_ms=inputs.human_active_ms,
        loc_added=body.get("locAdded", 0),
        loc_removed=body.get("locRemoved", 0),
        loc_total=inputs.loc_total,
        changed_files=list(dict.fromkeys(body.get("changedFiles") or []))[:MAX_STORED_CHANGED_FILES],
        changed_files_count=inputs.changed_files_count,
        architecture_change=inputs.architecture_change,
        logic_change=inputs.logic_change,
        specification_ui_change=inputs.specification_ui_change,
        effort_units=effort,
        formula_version=formula.VERSION,
        created_at=clock.now(),
    ).on_conflict_do_nothing(index_elements=list(key)).returning(ActivitySnapshot.id)
    if db.session.execute(statement).scalar_one_or_none() is not None:
        return StoredSnapshot(True, ended, effort)
    existing = db.session.execute(
        select(ActivitySnapshot.window_ended_at, ActivitySnapshot.effort_units).filter_by(**key)
    ).one()
    return StoredSnapshot(False, existing.window_ended_at, existing.effort_units)
