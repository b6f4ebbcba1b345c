"""GET /v1/jira/usage: rows newest first, limit and cursor paging, availableCredits, tenant scope."""
from datetime import datetime, timedelta

import pytest

from seecodes.credits.models import UsageRow
from seecodes.extensions import db

from ..helpers import assert_envelope

URL = "/v1/jira/usage"


@pytest.fixture
def usage_rows(app, installation_pk, grant, jira):
    """Five debits of 1..5 credits an hour apart, oldest first, and 42 credits left."""
    grant(jira.installation_id, 42)
    with app.app_context():
        for n in range(1, 6):
            db.session.add(UsageRow(installation_pk=installation_pk, type="task_run", project_id="AUTH",
                                    task_id=f"AUTH-{n}", run_id=f"run_{n}", user_account_id="557058:alice",
                                    credits=n, created_at=datetime(2026, 4, 4, 12, 34, 56) + timedelta(hours=n)))
        db.session.commit()


def test_usage_rows_come_newest_first_with_available_credits(jira, usage_rows):
    answer = jira.get(URL).get_json()
    assert answer["availableCredits"] == 42
    assert [item["credits"] for item in answer["items"]] == [5, 4, 3, 2, 1]
    assert answer["items"][-1] == {"timestamp": "2026-04-04T13:34:56Z", "type": "task_run", "taskId": "AUTH-1",
                                   "projectId": "AUTH", "runId": "run_1", "userAccountId": "557058:alice",
                                   "credits": 1}
    assert answer["nextCursor"] is None


def test_cursor_pages_through_older_rows(jira, usage_rows):
    first = jira.get(URL, query_string={"limit": 2}).get_json()
    second = jira.get(URL, query_string={"limit": 2, "cursor": first["nextCursor"]}).get_json()
    third = jira.get(URL, query_string={"limit": 2, "cursor": second["nextCursor"]}).get_json()
    pages = [[item["credits"] for item in page["items"]] for page in (first, second, third)]
    assert pages == [[5, 4], [3, 2], [1]]
    assert third["nextCursor"] is None


def test_installation_without_usage_answers_empty(jira):
    assert jira.get(URL).get_json() == {"ok": True, "items": [], "nextCursor": None, "availableCredits": 0}


def test_other_installation_never_sees_usage(other_jira, usage_rows):
    assert other_jira.get(URL).get_json()["items"] == []


@pytest.mark.parametrize("query", [{"limit": 0}, {"limit": 201}, {"limit": "many"}, {"cursor": "abc"},
                                   {"cursor": "-1"}])
def test_bad_paging_parameters_are_refused(jira, query):
    assert_envelope(jira.get(URL, query_string=query), 422, "validation_failed")
