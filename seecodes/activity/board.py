"""The team-competition board: snapshot items, run fallback items, per-task summaries and the month baseline.

Everything that counts the whole range (summaries, totals, the median) is aggregated by the database, per
task; Python only shapes the bounded rows it answers (at most SEECODES_BOARD_MAX_ITEMS items and
SEECODES_BOARD_MAX_TASK_SUMMARIES summaries, seecodes/settings.py), so the answer's time and memory do not
grow with the snapshots of the range.
"""
import calendar
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from fractions import Fraction

from sqlalchemy import Integer, case, distinct, func, literal_column, or_, select, union_all

from .. import clock, sql
from ..errors import Invalid
from ..extensions import db
from ..runs.models import ACTIVE_STATUSES, FINAL_STATUSES, Run
from ..settings import setting
from . import formula
from .models import ActivitySnapshot

SNAPSHOT = "snapshot"
TASK_RUN = "task_run"
# A run is evidence of one logical change with no measured editor activity: formula v1 with only the
# logic bonus, i.e. 14 effort units per run.
TASK_RUN_INPUTS = formula.EffortInputs(logic_change=True)
RUN_STATUSES = ACTIVE_STATUSES + FINAL_STATUSES  # "initialized" runs never started: no evidence of work
# The longest range served: a year of a 100-developer team (~840,000 snapshots) aggregates within the
# route's budget (docs/benchmarks.md, growth); longer ranges are refused (422).
MAX_RANGE_DAYS = 366
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


def _snapshot_scope(installation_pk: int, project_id: str | None, scope: DateRange) -> list:
    clauses = [ActivitySnapshot.installation_pk == installation_pk,
               ActivitySnapshot.window_ended_at >= scope.start_at, ActivitySnapshot.window_ended_at < scope.end_before]
    if project_id is not None:
        clauses.append(ActivitySnapshot.project_id == project_id)
    return clauses


def _fallback_run_scope(installation_pk: int, project_id: str | None, scope: DateRange) -> list:
    """Started runs in range of tasks that have no snapshot in range (the probe is an index range of
    ix_activity_snapshots_task_ended)."""
    covered = select(ActivitySnapshot.id).where(
        ActivitySnapshot.installation_pk == Run.installation_pk, ActivitySnapshot.project_id == Run.project_id,
        ActivitySnapshot.task_id == Run.task_id, ActivitySnapshot.window_ended_at >= scope.start_at,
        ActivitySnapshot.window_ended_at < scope.end_before).exists()
    clauses = [Run.installation_pk == installation_pk, Run.created_at >= scope.start_at,
               Run.created_at < scope.end_before, Run.status.in_(RUN_STATUSES), ~covered]
    if project_id is not None:
        clauses.append(Run.project_id == project_id)
    return clauses


def _bytewise(column):
    """Code-point order, as Python sorts str: PostgreSQL's "C" collation (UTF-8 bytes), SQLite's BINARY."""
    return column.collate("C" if sql.dialect_name() == "postgresql" else "BINARY")


def _distinct_list(column):
    """A JSON array of the column's distinct values in the group (NULLs included; dropped when shaped)."""
    if sql.dialect_name() == "postgresql":
        return func.json_agg(distinct(column))
    return func.json_group_array(distinct(column))


def _per_task(installation_pk: int, project_id: str | None, scope: DateRange):
    """One row per task of the range: the snapshot tasks, and the run fallback tasks (disjoint from them)."""
    snapshot_tasks = select(
        ActivitySnapshot.project_id, ActivitySnapshot.task_id, literal_column(f"'{SNAPSHOT}'").label("source"),
        func.sum(ActivitySnapshot.effort_units).label("effort_units"), func.count().label("snapshot_count"),
        literal_column("0").label("run_count"), func.sum(ActivitySnapshot.human_active_ms).label("active_ms"),
        func.sum(ActivitySnapshot.loc_total).label("lines_changed"),
        func.min(ActivitySnapshot.window_started_at).label("first_at"),
        func.max(ActivitySnapshot.window_ended_at).label("last_at"),
        _distinct_list(func.nullif(ActivitySnapshot.user_account_id, "")).label("contributors"),
    ).where(*_snapshot_scope(installation_pk, project_id, scope)).group_by(
        ActivitySnapshot.project_id, ActivitySnapshot.task_id)
    run_tasks = select(
        Run.project_id, Run.task_id, literal_column(f"'{TASK_RUN}'").label("source"),
        (func.count() * formula.effort_units(TASK_RUN_INPUTS)).label("effort_units"),
        literal_column("0").label("snapshot_count"), func.count().label("run_count"),
        literal_column("0").label("active_ms"), literal_column("0").label("lines_changed"),
        func.min(Run.created_at).label("first_at"), func.max(func.coalesce(Run.finished_at, Run.created_at)).label("last_at"),
        _distinct_list(func.nullif(Run.user_account_id, "")).label("contributors"),
    ).where(*_fallback_run_scope(installation_pk, project_id, scope)).group_by(Run.project_id, Run.task_id)
    return union_all(snapshot_tasks, run_tasks).cte("per_task")


@dataclass
class TaskTotals:
    summaries: list[dict]
    task_count: int
    snapshot_items: int
    run_items: int
    fallback_tasks: int
    median_effort: int


def task_totals(installation_pk: int, project_id: str | None, scope: DateRange, limit: int) -> TaskTotals:
    """One statement: the `limit` tasks of highest effort, the counts over every task, and the median task
    effort (the one or two middle rows of the tasks ordered by effort), all from one per-task aggregate."""
    per_task = _per_task(installation_pk, project_id, scope)
    c = per_task.c
    ranked = select(
        per_task,
        func.row_number().over(order_by=(c.effort_units.desc(), _bytewise(c.project_id), _bytewise(c.task_id)))
        .label("rank"),
        func.row_number().over(order_by=c.effort_units).label("by_effort"),
        func.count().over().label("task_count"),
        func.sum(c.snapshot_count).over().label("snapshot_items"),
        func.sum(c.run_count).over().label("run_items"),
        func.sum(case((c.source == TASK_RUN, 1), else_=0)).over().label("fallback_tasks"),
    ).subquery("ranked")
    r = ranked.c
    count = r.task_count.cast(Integer)
    rows = db.session.execute(select(ranked).where(or_(r.rank <= limit, r.by_effort.in_(
        [(count + 1) // 2, (count + 2) // 2])))).all()
    if not rows:
        return TaskTotals([], 0, 0, 0, 0, 0)
    middle = [row.effort_units for row in rows if row.by_effort in ((rows[0].task_count + 1) // 2,
                                                                      (rows[0].task_count + 2) // 2)]
    if len(middle) == 1:
        middle *= 2
    summaries = sorted((row for row in rows if row.rank <= limit), key=lambda row: row.rank)
    return TaskTotals(
        summaries=[_summary(row) for row in summaries],
        task_count=int(rows[0].task_count),
        snapshot_items=int(rows[0].snapshot_items),
        run_items=int(rows[0].run_items),
        fallback_tasks=int(rows[0].fallback_tasks),
        # The median of integers is exact in halves: round half up as everywhere else.
        median_effort=formula.round_half_up(Fraction(int(middle[0]) + int(middle[1]), 2)),
    )


def _summary(row) -> dict:
    contributors = row.contributors if isinstance(row.contributors, list) else json.loads(row.contributors)
    return {
        "projectId": row.project_id,
        "taskId": row.task_id,
        "source": row.source,
        "effortUnits": int(row.effort_units),
        "snapshotCount": int(row.snapshot_count),
        "runCount": int(row.run_count),
        "activeMinutes": round(int(row.active_ms) / 60_000, 2),
        "linesChanged": int(row.lines_changed),
        "firstActivityAt": clock.iso(_naive(row.first_at), micro=True),
        "lastActivityAt": clock.iso(_naive(row.last_at), micro=True),
        "contributors": sorted(user for user in contributors if user),
    }


def _naive(value) -> datetime:
    """SQLite answers min()/max() of a DateTime column as text, PostgreSQL as a datetime."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def _snapshot_items(installation_pk: int, project_id: str | None, scope: DateRange, limit: int) -> list[dict]:
    """The newest `limit` snapshots of the range in the board's order (time, task, id), newest first."""
    query = select(*_SNAPSHOT_COLUMNS).where(*_snapshot_scope(installation_pk, project_id, scope)).order_by(
        ActivitySnapshot.window_ended_at.desc(), _bytewise(ActivitySnapshot.task_id).desc(),
        ActivitySnapshot.id.desc()).limit(limit)
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
            "_order": (row.window_ended_at, SNAPSHOT, row.task_id, row.id),
        }
        for row in db.session.execute(query)
    ]


def _run_items(installation_pk: int, project_id: str | None, scope: DateRange, limit: int) -> list[dict]:
    """The newest `limit` run fallback items of the range (one per started run of a task with no snapshot)."""
    query = select(Run.id, Run.project_id, Run.task_id, Run.user_account_id, Run.status, Run.created_at).where(
        *_fallback_run_scope(installation_pk, project_id, scope)).order_by(
        Run.created_at.desc(), _bytewise(Run.task_id).desc(), _bytewise(Run.id).desc()).limit(limit)
    effort = formula.effort_units(TASK_RUN_INPUTS)
    return [
        {
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
            "_order": (row.created_at, TASK_RUN, row.task_id, row.id),
        }
        for row in db.session.execute(query)
    ]


def _answered_items(installation_pk: int, project_id: str | None, scope: DateRange, limit: int) -> list[dict]:
    """The newest `limit` items of the range, in time order, with their stored changedFiles: the newest
    `limit` of each source, merged."""
    items = _snapshot_items(installation_pk, project_id, scope, limit) + _run_items(installation_pk, project_id,
                                                                                    scope, limit)
    items.sort(key=lambda item: item["_order"])
    kept = items[-limit:] if len(items) > limit else items
    ids = [item["_order"][3] for item in kept if item["source"] == SNAPSHOT]
    files = {}
    for chunk in sql.chunks(ids):
        files.update(db.session.execute(select(ActivitySnapshot.id, ActivitySnapshot.changed_files)
                                        .where(ActivitySnapshot.id.in_(chunk))).all())
    for item in kept:
        if item["source"] == SNAPSHOT:
            item["changedFiles"] = files.get(item["_order"][3], [])
    return kept


def _public(item: dict) -> dict:
    return {name: value for name, value in item.items() if not name.startswith("_")}


def month_baseline(installation_pk: int, project_id: str | None, month: DateRange,
                   totals: TaskTotals | None = None) -> dict:
    """Median of per-task effort over the tasks active in the month, counted like the board itself."""
    totals = totals or task_totals(installation_pk, project_id, month, limit=0)
    return {
        "month": month.start.strftime("%Y-%m"),
        "taskCount": totals.task_count,
        "medianEffortUnits": totals.median_effort,
    }


def team_competition(installation_pk: int, project_id: str | None, start: date | None, end: date | None) -> dict:
    scope = resolve_range(start, end, clock.now().date())
    # items: the newest of the range (totals, baseline and sourceSummary count them all); taskSummaries: the
    # highest effort first (totalTaskSummaries counts every task).
    item_limit, summary_limit = setting("SEECODES_BOARD_MAX_ITEMS"), setting("SEECODES_BOARD_MAX_TASK_SUMMARIES")
    totals = task_totals(installation_pk, project_id, scope, summary_limit)
    answered = _answered_items(installation_pk, project_id, scope, item_limit)
    month = month_range(scope.end)
    total_items = totals.snapshot_items + totals.run_items
    return {
        "ok": True,
        "startDate": scope.start.isoformat(),
        "endDate": scope.end.isoformat(),
        "projectId": project_id,
        "items": [_public(item) for item in answered],
        "itemsTruncated": len(answered) < total_items,
        "totalItems": total_items,
        "taskSummaries": totals.summaries,
        "taskSummariesTruncated": len(totals.summaries) < totals.task_count,
        "totalTaskSummaries": totals.task_count,
        "monthBaseline": month_baseline(installation_pk, project_id, month, totals if month == scope else None),
        "formula": formula.describe(),
        "sourceSummary": {
            "snapshotItems": totals.snapshot_items,
            "taskRunFallbackItems": totals.run_items,
            # Stays 0 while POST /v1/jira/telemetry/events is disabled (nothing is ingested from it).
            "vscodeFallbackItems": 0,
            "fallbackTaskCount": totals.fallback_tasks,
        },
    }
