"""GET /v1/jira/team-competition at size: capped taskSummaries with exact totals, a fixed number of statements
whatever the range holds, and the same answer as the row-by-row rule it replaced (checked against it)."""
import random
import statistics
import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, insert

from seecodes import clock
from seecodes.activity import formula
from seecodes.activity.models import ActivitySnapshot
from seecodes.extensions import db
from seecodes.runs.models import Run

URL = "/v1/jira/team-competition"
APRIL = {"startDate": "2026-04-01", "endDate": "2026-04-30"}


def _snapshot_row(installation_pk, task_id, ended, effort, user="557058:alice", project_id="AUTH", **fields):
    return {"installation_pk": installation_pk, "project_id": project_id, "task_id": task_id, "user_account_id": user,
            "window_started_at": ended - timedelta(minutes=15), "window_ended_at": ended,
            "human_active_ms": fields.get("human_active_ms", 60_000), "loc_added": 1, "loc_removed": 0,
            "loc_total": fields.get("loc_total", 1), "changed_files": [f"{task_id}.ts"], "changed_files_count": 1,
            "architecture_change": False, "logic_change": False, "specification_ui_change": False,
            "effort_units": effort, "formula_version": "v1", "created_at": ended}


def _run_row(installation_pk, run_id, task_id, created_at, status="succeeded", user="557058:alice"):
    return {"id": run_id, "installation_pk": installation_pk, "project_id": "AUTH", "task_id": task_id,
            "user_account_id": user, "model_id": "strict light", "files": ["list.md"], "storage_prefix": "tmp/",
            "status": status, "created_at": created_at, "updated_at": created_at, "finished_at": created_at}


def _store(app, snapshots=(), runs=()):
    with app.app_context():
        if snapshots:
            db.session.execute(insert(ActivitySnapshot), list(snapshots))
        if runs:
            db.session.execute(insert(Run), list(runs))
        db.session.commit()


def _board(jira, **query):
    response = jira.get(URL, query_string={**APRIL, **query})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_task_summaries_are_capped_to_the_highest_effort_tasks_with_exact_totals(app, jira, installation_pk):
    app.config["SEECODES_BOARD_MAX_TASK_SUMMARIES"] = 2
    at = datetime(2026, 4, 2, 10)
    _store(app, snapshots=[_snapshot_row(installation_pk, task, at + timedelta(hours=n), effort)
                           for n, (task, effort) in enumerate([("AUTH-1", 14), ("AUTH-2", 24), ("AUTH-3", 10),
                                                               ("AUTH-3", 10)])],
           runs=[_run_row(installation_pk, "run_a", "AUTH-9", at), _run_row(installation_pk, "run_b", "AUTH-9", at)])
    answer = _board(jira)
    assert [(s["taskId"], s["effortUnits"]) for s in answer["taskSummaries"]] == [("AUTH-9", 28), ("AUTH-2", 24)]
    assert answer["taskSummariesTruncated"] is True and answer["totalTaskSummaries"] == 4
    # The median and the sources still count every task: 14, 20, 24, 28 -> 22.
    assert answer["monthBaseline"] == {"month": "2026-04", "taskCount": 4, "medianEffortUnits": 22}
    assert answer["sourceSummary"] == {"snapshotItems": 4, "taskRunFallbackItems": 2, "vscodeFallbackItems": 0,
                                       "fallbackTaskCount": 1}
    assert answer["totalItems"] == 6 and answer["itemsTruncated"] is False


def test_an_uncapped_board_says_nothing_was_left_out(jira, app, installation_pk):
    _store(app, snapshots=[_snapshot_row(installation_pk, "AUTH-1", datetime(2026, 4, 2, 10), 14)])
    answer = _board(jira)
    assert answer["taskSummariesTruncated"] is False and answer["totalTaskSummaries"] == 1


def _count_selects(app):
    seen = []
    with app.app_context():
        engine = db.engine
    this_thread = threading.get_ident()

    def on_statement(_conn, _cursor, statement, _params, _context, _many):
        if threading.get_ident() == this_thread and "activity_snapshots" in statement:
            seen.append(statement)

    return engine, on_statement, seen


@pytest.mark.parametrize("snapshots", [3, 300])
def test_the_board_is_a_fixed_number_of_statements_whatever_the_range_holds(app, jira, installation_pk, snapshots):
    at = datetime(2026, 4, 2)
    _store(app, snapshots=[_snapshot_row(installation_pk, f"AUTH-{n % 50}", at + timedelta(minutes=20 * n), 5)
                           for n in range(snapshots)])
    jira.bootstrap()
    engine, on_statement, seen = _count_selects(app)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        answer = _board(jira)
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
    assert answer["totalItems"] == snapshots
    # per-task aggregate (with totals and median), newest snapshots, newest fallback runs, their changedFiles
    assert len(seen) == 4, seen


def test_a_range_longer_than_366_days_is_refused_with_the_limit_named(jira):
    response = jira.get(URL, query_string={"startDate": "2025-04-01", "endDate": "2026-04-02"})
    assert response.status_code == 422
    assert "366 days" in response.get_json()["detail"]


def _reference(snapshots, runs, item_limit):
    """The rule as the board computed it before, one Python object per snapshot (kept here as the oracle)."""
    covered = {(s["project_id"], s["task_id"]) for s in snapshots}
    items = [{"source": "snapshot", "projectId": s["project_id"], "taskId": s["task_id"], "_id": s["id"],
              "userAccountId": s["user_account_id"] or None, "timestamp": clock.iso(s["window_ended_at"], micro=True),
              "effortUnits": s["effort_units"], "humanActiveMs": s["human_active_ms"], "locTotal": s["loc_total"],
              "_at": s["window_started_at"], "_end": s["window_ended_at"]}
             for s in sorted(snapshots, key=lambda s: (s["window_ended_at"], s["id"]))]
    items += [{"source": "task_run", "projectId": r["project_id"], "taskId": r["task_id"], "_id": r["id"],
               "userAccountId": r["user_account_id"] or None, "timestamp": clock.iso(r["created_at"], micro=True),
               "effortUnits": 14, "humanActiveMs": 0, "locTotal": 0, "_at": r["created_at"], "_end": r["created_at"]}
              for r in sorted(runs, key=lambda r: (r["created_at"], r["id"]))
              if (r["project_id"], r["task_id"]) not in covered and r["status"] != "initialized"]
    items.sort(key=lambda item: (item["timestamp"], item["source"], item["taskId"]))
    tasks = {}
    for item in items:
        s = tasks.setdefault((item["projectId"], item["taskId"]), {
            "projectId": item["projectId"], "taskId": item["taskId"], "source": item["source"], "effortUnits": 0,
            "snapshotCount": 0, "runCount": 0, "ms": 0, "linesChanged": 0, "first": item["_at"], "last": item["_end"],
            "contributors": set()})
        s["effortUnits"] += item["effortUnits"]
        s["snapshotCount" if item["source"] == "snapshot" else "runCount"] += 1
        s["ms"] += item["humanActiveMs"]
        s["linesChanged"] += item["locTotal"]
        s["first"], s["last"] = min(s["first"], item["_at"]), max(s["last"], item["_end"])
        s["contributors"] |= {item["userAccountId"]} - {None}
    summaries = sorted(({**{k: v for k, v in s.items() if k not in ("ms", "first", "last", "contributors")},
                         "activeMinutes": round(s["ms"] / 60_000, 2), "contributors": sorted(s["contributors"]),
                         "firstActivityAt": clock.iso(s["first"], micro=True),
                         "lastActivityAt": clock.iso(s["last"], micro=True)} for s in tasks.values()),
                       key=lambda s: (-s["effortUnits"], s["projectId"], s["taskId"]))
    efforts = [s["effortUnits"] for s in summaries]
    median = formula.round_half_up(statistics.median(efforts)) if efforts else 0
    return [(i["source"], i["taskId"], i["_id"]) for i in items[-item_limit:]], summaries, median, len(items)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_database_aggregate_gives_the_answer_of_the_row_by_row_rule(app, jira, installation_pk, seed):
    app.config["SEECODES_BOARD_MAX_ITEMS"] = 9
    app.config["SEECODES_BOARD_MAX_TASK_SUMMARIES"] = 5
    rng = random.Random(seed)
    users = ["557058:alice", "557058:bob", ""]
    tasks = ["AUTH-1", "AUTH-10", "AUTH-2", "auth-2", "AUTH-Ä", "AUTH-z"]
    hours = [datetime(2026, 4, 1) + timedelta(hours=rng.randrange(0, 12) * 24) for _ in range(40)]
    windows = {}  # repeated hours: ties in time broken by source, task, then id
    for ended in hours:
        task, user = rng.choice(tasks), rng.choice(users)
        windows.setdefault((task, user, ended), len(windows) + 1)
    snapshots = [dict(_snapshot_row(installation_pk, task, ended, rng.choice([3, 5, 14]), user=user,
                                    human_active_ms=rng.randrange(0, 900_000), loc_total=rng.randrange(0, 50)), id=ident)
                 for (task, user, ended), ident in windows.items() if task not in ("AUTH-z",)]
    runs = [_run_row(installation_pk, f"run_{n:02d}", rng.choice(tasks), hours[n % 7] + timedelta(minutes=n % 3),
                     status=rng.choice(["succeeded", "failed", "initialized"]), user=rng.choice([None, *users]))
            for n in range(14)]
    _store(app, snapshots, runs)
    items, summaries, median, total = _reference(snapshots, runs, 9)
    answer = _board(jira)
    by_id = {s["id"]: s for s in snapshots}
    assert [(i["source"], i["taskId"], i["runId"] or (i["windowEndedAt"], i["userAccountId"]))
            for i in answer["items"]] == [
        (source, task, ident if source == "task_run" else (clock.iso(by_id[ident]["window_ended_at"], micro=True),
                                                            by_id[ident]["user_account_id"] or None))
        for source, task, ident in items]
    assert answer["taskSummaries"] == summaries[:5]
    assert (answer["totalTaskSummaries"], answer["totalItems"]) == (len(summaries), total)
    assert answer["monthBaseline"] == {"month": "2026-04", "taskCount": len(summaries), "medianEffortUnits": median}
