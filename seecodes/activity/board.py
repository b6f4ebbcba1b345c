"""The team-competition board: snapshot items, run fallback items, per-task summaries and the month baseline."""
import calendar
import statistics
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from .. import clock, sql
from ..errors import Invalid
from ..extensions import db
from ..runs.models import ACTIVE_STATUSES, FINAL_STATUSES, Run
from . import formula
from .models import ActivitySnapshot

SNAPSHOT = "snapshot"
TASK_RUN = "task_run"
# A run is evidence of one logical change with no measured editor activity: formula v1 with only the
# logic bonus, i.e. 14 effort units per run.
TASK_RUN_INPUTS = formula.EffortInputs(logic_change=True)
RUN_STATUSES = ACTIVE_STATUSES + FINAL_STATUSES  # "initialized" runs never started: no evidence of work
MAX_RANGE_DAYS = 366
# items answered at most (the newest of the range); summaries, baseline and sourceSummary count them all.
MAX_ITEMS = 2000
_SNAPSHOT_COLUMNS = tuple(column for column in ActivitySnapshot.__table__.c if column.name != "changed_files")


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date  # inclusive

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min)

    @property
    def end_before(self) -> datetime:
        return datetime.combine(self.end + timedelta(days=1), time.min)


def month_range(day: date) -> DateRange:
    return DateRange(day.replace(day=1), day.replace(day=calendar.monthrange(day.year, day.month)[1]))


def resolve_range(start: date | None, end: date | None, today: date) -> DateRange:
    """Defaults: neither date -> the current month; only endDate -> from the 1st of its month; only
    startDate -> to the last day of the current month. Reversed or longer than a year -> 422."""
    if start is None and end is None:
        return month_range(today)
    if start is None:
        start = end.replace(day=1)
    if end is None:
        end = month_range(today).end
    if start > end:
        raise Invalid("startDate is after endDate.", errors={"startDate": ["Must not be after endDate."]})
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise Invalid(f"The date range covers more than {MAX_RANGE_DAYS} days.",
                      errors={"endDate": [f"At most {MAX_RANGE_DAYS} days after startDate."]})
    return DateRange(start, end)


def _snapshot_items(installation_pk: int, project_id: str | None, scope: DateRange) -> list[dict]:
    query = select(ActivitySnapshot).where(
        ActivitySnapshot.installation_pk == installation_pk,
        ActivitySnapshot.window_ended_at >= scope.start_at,
        ActivitySnapshot.window_ended_at < scope.end_before,
    )
    if project_id is not None:
        query = query.where(ActivitySnapshot.project_id == project_id)
    # changedFiles are read later, only for the items answered.
    query = query.with_only_columns(*_SNAPSHOT_COLUMNS)
    rows = db.session.execute(query.order_by(ActivitySnapshot.window_ended_at, ActivitySnapshot.id))
    return [
        {
            "source": SNAPSHOT,
            "projectId": row.project_id,
            "taskId": row.task_id,
            "userAccountId": row.user_account_id or None,
            "timestamp": clock.iso(row.window_ended_at, micro=True),
            "windowStartedAt": clock.iso(row.window_started_at, micro=True),
            "windowEndedAt": clock.iso(row.window_ended_at, micro=True),
            "humanActiveMs": row.human_active_ms,
            "locAdded": row.loc_added,
            "locRemoved": row.loc_removed,
            "locTotal": row.loc_total,
            "changedFiles": [],
            "changedFilesCount": row.changed_files_count,
            "architectureChange": row.architecture_change,
            "logicChange": row.logic_change,
            "specificationUiChange": row.specification_ui_change,
            "effortUnits": row.effort_units,
            "runId": None,
            "_id": row.id,
            "_at": row.window_started_at,
            "_end": row.window_ended_at,
        }
        for row in rows
    ]


def _run_items(installation_pk: int, project_id: str | None, scope: DateRange, covered: set) -> list[dict]:
    """One item per started run of a task that has no snapshot in scope."""
    query = select(Run.id, Run.project_id, Run.task_id, Run.user_account_id, Run.status, Run.created_at,
                   Run.finished_at).where(
        Run.installation_pk == installation_pk,
        Run.created_at >= scope.start_at,
        Run.created_at < scope.end_before,
        Run.status.in_(RUN_STATUSES),
    )
    if project_id is not None:
        query = query.where(Run.project_id == project_id)
    effort = formula.effort_units(TASK_RUN_INPUTS)
    items = []
    for row in db.session.execute(query.order_by(Run.created_at, Run.id)):
        if (row.project_id, row.task_id) in covered:
            continue
        items.append({
            "source": TASK_RUN,
            "projectId": row.project_id,
            "taskId": row.task_id,
            "userAccountId": row.user_account_id or None,
            "timestamp": clock.iso(row.created_at, micro=True),
            "windowStartedAt": None,
            "windowEndedAt": None,
            "humanActiveMs": 0,
            "locAdded": 0,
            "locRemoved": 0,
            "locTotal": 0,
            "changedFiles": [],
            "changedFilesCount": 0,
            "architectureChange": TASK_RUN_INPUTS.architecture_change,
            "logicChange": TASK_RUN_INPUTS.logic_change,
            "specificationUiChange": TASK_RUN_INPUTS.specification_ui_change,
            "effortUnits": effort,
            "runId": row.id,
            "runStatus": row.status,
            "_at": row.created_at,
            "_end": row.finished_at or row.created_at,
        })
    return items


def _summaries(items: list[dict]) -> list[dict]:
    tasks: dict[tuple, dict] = {}
    for item in items:
        key = (item["projectId"], item["taskId"])
        summary = tasks.setdefault(key, {"projectId": key[0], "taskId": key[1], "source": item["source"],
                                         "effortUnits": 0, "snapshotCount": 0, "runCount": 0, "activeMs": 0,
                                         "linesChanged": 0, "first": item["_at"], "last": item["_end"],
                                         "contributors": set()})
        summary["effortUnits"] += item["effortUnits"]
        summary["snapshotCount" if item["source"] == SNAPSHOT else "runCount"] += 1
        summary["activeMs"] += item["humanActiveMs"]
        summary["linesChanged"] += item["locTotal"]
        summary["first"] = min(summary["first"], item["_at"])
        summary["last"] = max(summary["last"], item["_end"])
        if item["userAccountId"]:
            summary["contributors"].add(item["userAccountId"])
    shaped = [
        {
            "projectId": s["projectId"],
            "taskId": s["taskId"],
            "source": s["source"],
            "effortUnits": s["effortUnits"],
            "snapshotCount": s["snapshotCount"],
            "runCount": s["runCount"],
            "activeMinutes": round(s["activeMs"] / 60_000, 2),
            "linesChanged": s["linesChanged"],
            "firstActivityAt": clock.iso(s["first"], micro=True),
            "lastActivityAt": clock.iso(s["last"], micro=True),
            "contributors": sorted(s["contributors"]),
        }
        for s in tasks.values()
    ]
    shaped.sort(key=lambda s: (-s["effortUnits"], s["projectId"], s["taskId"]))
    return shaped


def _collect(installation_pk: int, project_id: str | None, scope: DateRange) -> tuple[list[dict], list[dict]]:
    snapshots = _snapshot_items(installation_pk, project_id, scope)
    covered = {(item["projectId"], item["taskId"]) for item in snapshots}
    runs = _run_items(installation_pk, project_id, scope, covered)
    return snapshots, runs


def _answered_items(items: list[dict]) -> tuple[list[dict], bool]:
    """The newest MAX_ITEMS items, in time order, with their stored changedFiles; and whether any were left out."""
    limit = current_app.config.get("SEECODES_BOARD_MAX_ITEMS", MAX_ITEMS)
    kept = items[-limit:] if len(items) > limit else items
    ids = [item["_id"] for item in kept if item["source"] == SNAPSHOT]
    files = {}
    for chunk in sql.chunks(ids):
        files.update(db.session.execute(select(ActivitySnapshot.id, ActivitySnapshot.changed_files)
                                        .where(ActivitySnapshot.id.in_(chunk))).all())
    for item in kept:
        if item["source"] == SNAPSHOT:
            item["changedFiles"] = files.get(item["_id"], [])
    return kept, len(kept) < len(items)


def _public(item: dict) -> dict:
    return {name: value for name, value in item.items() if not name.startswith("_")}


def month_baseline(installation_pk: int, project_id: str | None, month: DateRange,
                   collected: tuple[list, list] | None = None) -> dict:
    """Median of per-task effort over the tasks active in the month, counted like the board itself."""
    snapshots, runs = collected or _collect(installation_pk, project_id, month)
    efforts = [s["effortUnits"] for s in _summaries(snapshots + runs)]
    return {
        "month": month.start.strftime("%Y-%m"),
        "taskCount": len(efforts),
        "medianEffortUnits": formula.round_half_up(statistics.median(efforts)) if efforts else 0,
    }


def team_competition(installation_pk: int, project_id: str | None, start: date | None, end: date | None) -> dict:
    scope = resolve_range(start, end, clock.now().date())
    snapshots, runs = _collect(installation_pk, project_id, scope)
    month = month_range(scope.end)
    same_scope = month == scope
    items = sorted(snapshots + runs, key=lambda item: (item["timestamp"], item["source"], item["taskId"]))
    answered, truncated = _answered_items(items)
    return {
        "ok": True,
        "startDate": scope.start.isoformat(),
        "endDate": scope.end.isoformat(),
        "projectId": project_id,
        "items": [_public(item) for item in answered],
        "itemsTruncated": truncated,
        "totalItems": len(items),
        "taskSummaries": _summaries(items),
        "monthBaseline": month_baseline(installation_pk, project_id, month,
                                        (snapshots, runs) if same_scope else None),
        "formula": formula.describe(),
        "sourceSummary": {
            "snapshotItems": len(snapshots),
            "taskRunFallbackItems": len(runs),
            # Stays 0 while POST /v1/jira/telemetry/events is disabled (nothing is ingested from it).
            "vscodeFallbackItems": 0,
            "fallbackTaskCount": len({(item["projectId"], item["taskId"]) for item in runs}),
        },
    }
