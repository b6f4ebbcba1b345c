"""Storing activity snapshots once per (installation, project, task, user, window)."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import clock
from ..extensions import db
from .. import sql
from ..permits.service import Binding
from . import formula
from .models import ActivitySnapshot


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


def record(permit: Binding, body: dict) -> StoredSnapshot:
    """Insert unless the same window of the same task and user exists; race-safe via ON CONFLICT DO NOTHING."""
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
    effort = formula.effort_units(inputs)
    statement = sql.insert(ActivitySnapshot).values(
        **key,
        task_started_at=clock.to_utc_naive(task_started) if task_started else None,
        task_age_minutes=body.get("taskAgeMinutes"),
        human_active_ms=inputs.human_active_ms,
        loc_added=body.get("locAdded", 0),
        loc_removed=body.get("locRemoved", 0),
        loc_total=inputs.loc_total,
        changed_files=list(body.get("changedFiles") or []),
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
