"""POST /v1/tasks/activity-snapshot: validation, formula v1, dedupe per task, user and window."""
import pytest

from seecodes.activity.models import ActivitySnapshot
from seecodes.extensions import db

from ..helpers import assert_envelope, bearer
from ..contract_examples import SNAPSHOT_EXAMPLE, SNAPSHOT_EXAMPLE_EFFORT

URL = "/v1/tasks/activity-snapshot"


def _count(app):
    with app.app_context():
        return db.session.query(ActivitySnapshot).count()


def test_contract_example_is_stored_with_formula_effort(client, auth):
    response = client.post(URL, json=SNAPSHOT_EXAMPLE, headers=auth)
    assert response.status_code == 200
    assert response.get_json() == {"ok": True, "stored": True, "timestamp": "2026-04-04T10:15:00.000000Z",
                                   "effortUnits": SNAPSHOT_EXAMPLE_EFFORT}


def test_same_window_again_is_not_stored(client, auth, app):
    client.post(URL, json=SNAPSHOT_EXAMPLE, headers=auth)
    again = client.post(URL, json={**SNAPSHOT_EXAMPLE, "locAdded": 500, "locTotal": None}, headers=auth).get_json()
    assert again == {"ok": True, "stored": False, "timestamp": "2026-04-04T10:15:00.000000Z",
                     "effortUnits": SNAPSHOT_EXAMPLE_EFFORT}
    assert _count(app) == 1


def test_same_instants_in_another_offset_are_the_same_window(client, auth, app):
    client.post(URL, json=SNAPSHOT_EXAMPLE, headers=auth)
    shifted = {**SNAPSHOT_EXAMPLE, "windowStartedAt": "2026-04-04T12:00:00+02:00",
               "windowEndedAt": "2026-04-04T12:15:00+02:00"}
    assert client.post(URL, json=shifted, headers=auth).get_json()["stored"] is False


def test_another_user_on_the_same_window_is_stored(client, auth, jira, app):
    client.post(URL, json=SNAPSHOT_EXAMPLE, headers=auth)
    jira.principal, jira.key = "557058:bob", None  # a second user of the same installation
    assert client.post(URL, json=SNAPSHOT_EXAMPLE, headers=bearer(jira.permit())).get_json()["stored"] is True
    with app.app_context():
        users = sorted(db.session.execute(db.select(ActivitySnapshot.user_account_id)).scalars())
    assert users == ["557058:alice", "557058:bob"]


def test_snapshot_is_stored_against_the_permits_binding(client, auth, app):
    client.post(URL, json=SNAPSHOT_EXAMPLE, headers=auth)
    with app.app_context():
        row = db.session.execute(db.select(ActivitySnapshot)).scalar_one()
        assert (row.project_id, row.task_id, row.user_account_id) == ("AUTH", "AUTH-128", "557058:alice")
        assert row.loc_total == 39 and row.changed_files == ["src/auth.ts", "src/routes.tsx"]


def test_defaults_feed_the_formula(client, auth):
    body = {"windowStartedAt": "2026-04-04T10:00:00Z", "windowEndedAt": "2026-04-04T10:15:00Z",
            "locAdded": 20, "locRemoved": 5, "changedFiles": ["a.ts", "b.ts", "a.ts"]}
    # 0.18*25 + 3*2 = 10.5 -> 11
    assert client.post(URL, json=body, headers=auth).get_json()["effortUnits"] == 11


@pytest.mark.parametrize("change, field", [
    ({"windowEndedAt": "2026-04-04T10:00:00.000Z"}, "windowEndedAt"),
    ({"windowEndedAt": "2026-04-04T09:59:00.000Z"}, "windowEndedAt"),
    ({"windowEndedAt": "2026-04-05T10:00:01.000Z"}, "windowEndedAt"),
    ({"windowStartedAt": "2026-04-04T10:00:00"}, "windowStartedAt"),
    ({"windowStartedAt": "yesterday"}, "windowStartedAt"),
    ({"windowStartedAt": "0001-01-01T00:00:00+01:00"}, "windowStartedAt"),
    ({"windowEndedAt": "9999-12-31T23:00:00-05:00"}, "windowEndedAt"),
    ({"humanActiveMs": -1}, "humanActiveMs"),
    ({"humanActiveMs": 900_001}, "humanActiveMs"),
    ({"humanActiveMs": 1.5}, "humanActiveMs"),
    ({"locAdded": -3}, "locAdded"),
    ({"changedFiles": ["f"] * 1001}, "changedFiles"),
    ({"changedFiles": [""]}, "changedFiles"),
    ({"logicChange": "maybe"}, "logicChange"),
])
def test_invalid_snapshot_is_refused(client, auth, app, change, field):
    response = client.post(URL, json={**SNAPSHOT_EXAMPLE, **change}, headers=auth)
    assert field in assert_envelope(response, 422, "validation_failed")["errors"]
    assert _count(app) == 0


@pytest.mark.parametrize("change", [{"taskId": "AUTH-129"}, {"projectId": "OTHER"}])
def test_body_naming_another_task_is_forbidden(client, auth, app, change):
    assert_envelope(client.post(URL, json={**SNAPSHOT_EXAMPLE, **change}, headers=auth), 403, "permit_binding_mismatch")
    assert _count(app) == 0


def test_snapshot_without_permit_is_unauthorized(client):
    assert_envelope(client.post(URL, json=SNAPSHOT_EXAMPLE), 401, "credential_missing")


def test_a_day_long_window_still_covers_a_window_at_its_end(client, auth):
    day = {"windowStartedAt": "2026-04-04T00:00:00Z", "windowEndedAt": "2026-04-05T00:00:00Z", "logicChange": True}
    late = {"windowStartedAt": "2026-04-04T23:45:00Z", "windowEndedAt": "2026-04-05T00:00:00Z", "logicChange": True}
    assert client.post(URL, json=day, headers=auth).get_json()["effortUnits"] == 14
    assert client.post(URL, json=late, headers=auth).get_json()["effortUnits"] == 0


def test_the_overlap_read_is_bounded_by_the_longest_window_the_schema_accepts():
    from seecodes.activity import service
    from seecodes.resources.tasks import schemas_activity

    assert service.MAX_WINDOW == schemas_activity.MAX_WINDOW


@pytest.mark.backends("sqlite")
def test_the_overlap_read_is_an_index_range_on_both_window_bounds(app):
    from datetime import datetime

    from seecodes.activity import service

    key = {"installation_pk": 1, "project_id": "AUTH", "task_id": "AUTH-1", "user_account_id": "u"}
    captured = []
    with app.app_context():
        from sqlalchemy import event

        @event.listens_for(db.engine, "before_cursor_execute")
        def capture(conn, cursor, statement, parameters, context, executemany):
            captured.append((statement, parameters))

        service._earlier_windows(key, datetime(2026, 4, 4, 10), datetime(2026, 4, 4, 10, 15))
        event.remove(db.engine, "before_cursor_execute", capture)
        statement, parameters = captured[-1]
        plan = " ".join(str(row[-1]) for row in db.session.connection().exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", tuple(parameters)))
    assert "USING COVERING INDEX" in plan and "window_started_at>? AND window_started_at<?" in plan, plan
