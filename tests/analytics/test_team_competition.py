"""GET /v1/jira/team-competition: scope, date range, summaries, month baseline and the run fallback."""
from datetime import datetime, timedelta

import pytest

from seecodes.extensions import db
from seecodes.runs.models import Run

from ..helpers import assert_envelope, bearer
from ..contract_examples import CONTRACT_WEIGHTS

URL = "/v1/jira/team-competition"


@pytest.fixture
def post_snapshot(client, jira):
    """Store a snapshot for a task: the window ends at `ended` and lasts 15 minutes."""
    permits = {}

    def post(task_id, ended, project_id="AUTH", **fields):
        if (project_id, task_id) not in permits:
            permits[(project_id, task_id)] = bearer(jira.permit(project_id, task_id))
        started = ended - timedelta(minutes=15)
        body = {"windowStartedAt": started.isoformat() + "Z", "windowEndedAt": ended.isoformat() + "Z", **fields}
        response = client.post("/v1/tasks/activity-snapshot", json=body, headers=permits[(project_id, task_id)])
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return post


@pytest.fixture
def add_run(app, installation_pk):
    def add(task_id, created_at, status="succeeded", project_id="AUTH", user="557058:alice"):
        with app.app_context():
            run_id = f"run_{task_id.lower()}_{created_at:%d%H%M%S}"
            db.session.add(Run(id=run_id, installation_pk=installation_pk, project_id=project_id, task_id=task_id,
                               user_account_id=user, model_id="strict light", files=["list.md"],
                               storage_prefix="tmp/", status=status, created_at=created_at,
                               updated_at=created_at, finished_at=created_at))
            db.session.commit()
            return run_id

    return add


def board(jira, **query):
    response = jira.get(URL, query_string=query)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_empty_board_has_the_contract_shape(jira, mid_april):
    answer = board(jira)
    assert answer["items"] == [] and answer["taskSummaries"] == []
    assert answer["monthBaseline"] == {"month": "2026-04", "taskCount": 0, "medianEffortUnits": 0}
    assert answer["formula"] == {"version": "v1", "weights": CONTRACT_WEIGHTS}
    assert answer["sourceSummary"] == {"snapshotItems": 0, "taskRunFallbackItems": 0, "vscodeFallbackItems": 0,
                                       "fallbackTaskCount": 0}


def test_default_range_is_the_current_utc_month(jira, mid_april, post_snapshot):
    post_snapshot("AUTH-1", datetime(2026, 3, 31, 23, 59))
    post_snapshot("AUTH-2", datetime(2026, 4, 1, 0, 0))
    post_snapshot("AUTH-3", datetime(2026, 4, 30, 23, 59))
    post_snapshot("AUTH-4", datetime(2026, 5, 1, 0, 0))
    answer = board(jira)
    assert (answer["startDate"], answer["endDate"]) == ("2026-04-01", "2026-04-30")
    assert [item["taskId"] for item in answer["items"]] == ["AUTH-2", "AUTH-3"]


def test_end_date_is_inclusive_through_its_last_microsecond(jira, post_snapshot):
    post_snapshot("AUTH-1", datetime(2026, 4, 10, 23, 59, 59, 999999))
    post_snapshot("AUTH-2", datetime(2026, 4, 11, 0, 0))
    answer = board(jira, startDate="2026-04-10", endDate="2026-04-10")
    assert [item["taskId"] for item in answer["items"]] == ["AUTH-1"]


@pytest.mark.parametrize("query", [
    {"startDate": "2026-04-02", "endDate": "2026-04-01"},
    {"startDate": "04/01/2026"},
    {"endDate": "2026-02-30"},
    {"startDate": "9999-12-31", "endDate": "9999-12-31"},
    {"startDate": "2025-01-01", "endDate": "2026-04-01"},
])
def test_reversed_malformed_or_too_long_range_is_refused(jira, query):
    assert assert_envelope(jira.get(URL, query_string=query), 422, "validation_failed")["errors"]


def test_items_and_summaries_aggregate_snapshots(jira, post_snapshot):
    post_snapshot("AUTH-1", datetime(2026, 4, 2, 10, 15), humanActiveMs=600_000, locAdded=10, locRemoved=5,
                  changedFiles=["a.ts"])  # 18 + 2.7 + 3 = 23.7 -> 24
    post_snapshot("AUTH-1", datetime(2026, 4, 3, 9, 30), logicChange=True)  # 14
    answer = board(jira, startDate="2026-04-01", endDate="2026-04-30")
    item = answer["items"][0]
    assert item["source"] == "snapshot" and item["effortUnits"] == 24
    assert item["timestamp"] == "2026-04-02T10:15:00.000000Z" and item["userAccountId"] == "557058:alice"
    assert answer["taskSummaries"] == [{
        "projectId": "AUTH", "taskId": "AUTH-1", "source": "snapshot", "effortUnits": 38, "snapshotCount": 2,
        "runCount": 0, "activeMinutes": 10.0, "linesChanged": 15,
        "firstActivityAt": "2026-04-02T10:00:00.000000Z", "lastActivityAt": "2026-04-03T09:30:00.000000Z",
        "contributors": ["557058:alice"],
    }]
    assert answer["sourceSummary"]["snapshotItems"] == 2


def test_project_filter_keeps_one_project(jira, post_snapshot):
    post_snapshot("AUTH-1", datetime(2026, 4, 2, 10, 15))
    post_snapshot("WEB-1", datetime(2026, 4, 2, 10, 15), project_id="WEB")
    answer = board(jira, projectId="WEB", startDate="2026-04-01", endDate="2026-04-30")
    assert [(i["projectId"], i["taskId"]) for i in answer["items"]] == [("WEB", "WEB-1")]


def test_other_installation_never_appears(jira, other_jira, client, post_snapshot):
    post_snapshot("AUTH-1", datetime(2026, 4, 2, 10, 15), logicChange=True)
    assert board(other_jira, startDate="2026-04-01", endDate="2026-04-30")["items"] == []


def test_month_baseline_is_the_median_task_effort_of_end_dates_month(jira, post_snapshot):
    post_snapshot("AUTH-1", datetime(2026, 4, 2, 10, 15), logicChange=True)  # 14
    post_snapshot("AUTH-2", datetime(2026, 4, 3, 10, 15), architectureChange=True)  # 24
    post_snapshot("AUTH-3", datetime(2026, 4, 4, 10, 15), specificationUiChange=True)  # 10
    post_snapshot("AUTH-3", datetime(2026, 4, 5, 10, 15), specificationUiChange=True)  # task total 20
    post_snapshot("AUTH-4", datetime(2026, 3, 30, 10, 15), architectureChange=True)  # other month
    answer = board(jira, startDate="2026-03-01", endDate="2026-04-02")
    assert answer["monthBaseline"] == {"month": "2026-04", "taskCount": 3, "medianEffortUnits": 20}


def test_even_task_count_median_rounds_half_up(jira, post_snapshot):
    post_snapshot("AUTH-1", datetime(2026, 4, 2, 10, 15), logicChange=True)  # 14
    post_snapshot("AUTH-2", datetime(2026, 4, 3, 10, 15), changedFiles=["a", "b", "c"])  # 9
    assert board(jira, endDate="2026-04-30")["monthBaseline"]["medianEffortUnits"] == 12  # 11.5


def test_a_median_of_an_even_number_and_a_half_rounds_up_not_to_even(jira, post_snapshot):
    post_snapshot("AUTH-1", datetime(2026, 4, 2, 10, 15), logicChange=True)  # 14
    post_snapshot("AUTH-2", datetime(2026, 4, 3, 10, 15), changedFiles=["a"])  # 3
    assert board(jira, endDate="2026-04-30")["monthBaseline"]["medianEffortUnits"] == 9  # 8.5; half-even gives 8


def test_tasks_with_runs_but_no_snapshots_get_run_fallback_items(jira, post_snapshot, add_run):
    post_snapshot("AUTH-1", datetime(2026, 4, 2, 10, 15), logicChange=True)
    add_run("AUTH-1", datetime(2026, 4, 2, 11, 0))  # covered by a snapshot: no fallback
    first = add_run("AUTH-2", datetime(2026, 4, 3, 9, 0))
    add_run("AUTH-2", datetime(2026, 4, 4, 9, 0), status="failed")
    add_run("AUTH-3", datetime(2026, 4, 5, 9, 0), status="initialized")  # never started: no evidence
    add_run("AUTH-4", datetime(2026, 5, 5, 9, 0))  # out of range
    answer = board(jira, startDate="2026-04-01", endDate="2026-04-30")
    fallback = [item for item in answer["items"] if item["source"] == "task_run"]
    assert [(i["taskId"], i["runStatus"], i["effortUnits"]) for i in fallback] == [
        ("AUTH-2", "succeeded", 14), ("AUTH-2", "failed", 14)]
    assert fallback[0]["runId"] == first and fallback[0]["timestamp"] == "2026-04-03T09:00:00.000000Z"
    assert answer["sourceSummary"] == {"snapshotItems": 1, "taskRunFallbackItems": 2, "vscodeFallbackItems": 0,
                                       "fallbackTaskCount": 1}
    summary = next(s for s in answer["taskSummaries"] if s["taskId"] == "AUTH-2")
    assert (summary["source"], summary["effortUnits"], summary["runCount"]) == ("task_run", 28, 2)


def test_team_competition_requires_request_key(client, jira):
    assert_envelope(client.get(URL, headers=jira.auth()), 401, "request_key_missing")
