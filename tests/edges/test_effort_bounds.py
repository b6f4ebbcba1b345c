"""Effort is self-reported: what one window can claim is clamped, overlapping windows count once, and the
team-competition answer is bounded."""
from datetime import datetime, timedelta

import pytest

from seecodes.activity import service
from seecodes.activity.formula import EffortInputs


def _window(start: str, end: str, **extra):
    return {"windowStartedAt": start, "windowEndedAt": end, "humanActiveMs": 0, "logicChange": True, **extra}


def _snapshot(client, auth, body):
    response = client.post("/v1/tasks/activity-snapshot", json=body, headers=auth)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_one_window_cannot_claim_millions_of_units(client, auth):
    body = _window("2026-04-04T00:00:00Z", "2026-04-05T00:00:00Z", humanActiveMs=86_400_000, locTotal=20_000_000,
                   changedFilesCount=1_000_000, architectureChange=True, specificationUiChange=True)
    answer = _snapshot(client, auth, body)
    # 1.8 × 1440 + 0.18 × 10,000 + 3 × 1,000 + 24 + 14 + 10
    assert answer["effortUnits"] == 2592 + 1800 + 3000 + 48


def test_active_time_longer_than_the_window_is_422(client, auth):
    body = _window("2026-04-04T10:00:00Z", "2026-04-04T10:15:00Z", humanActiveMs=15 * 60_000 + 1)
    response = client.post("/v1/tasks/activity-snapshot", json=body, headers=auth)
    assert response.status_code == 422 and "humanActiveMs" in response.get_json()["errors"]


def test_an_overlapping_window_claims_only_its_uncovered_part(client, auth):
    first = _snapshot(client, auth, _window("2026-04-04T10:00:00Z", "2026-04-04T10:30:00Z", locTotal=100))
    second = _snapshot(client, auth, _window("2026-04-04T10:15:00Z", "2026-04-04T10:45:00Z", locTotal=100))
    assert first["effortUnits"] == 32  # 0.18 × 100 + 14
    assert second["effortUnits"] == 16  # half of it was already claimed


def test_a_window_inside_a_stored_one_claims_nothing(client, auth):
    _snapshot(client, auth, _window("2026-04-04T10:00:00Z", "2026-04-04T11:00:00Z", locTotal=100))
    inner = _snapshot(client, auth, _window("2026-04-04T10:10:00Z", "2026-04-04T10:20:00Z", locTotal=100))
    assert inner["stored"] is True and inner["effortUnits"] == 0


def test_the_same_window_again_is_not_stored_and_keeps_its_effort(client, auth):
    body = _window("2026-04-04T10:00:00Z", "2026-04-04T10:30:00Z", locTotal=100)
    _snapshot(client, auth, body)
    again = _snapshot(client, auth, body)
    assert again["stored"] is False and again["effortUnits"] == 32


def test_overlap_is_per_user(client, jira, auth):
    _snapshot(client, auth, _window("2026-04-04T10:00:00Z", "2026-04-04T10:30:00Z"))
    other = jira.__class__(client, jira.signer, jira.installation_id, jira.cloud_id, "557058:bob")
    bob = {"Authorization": f"Bearer {other.permit()}"}
    assert _snapshot(client, bob, _window("2026-04-04T10:00:00Z", "2026-04-04T10:30:00Z"))["effortUnits"] == 14


def test_uncovered_share_merges_overlapping_earlier_windows():
    at = datetime(2026, 4, 4, 10)
    minutes = lambda m: at + timedelta(minutes=m)  # noqa: E731
    earlier = [(minutes(-10), minutes(10)), (minutes(5), minutes(20)), (minutes(50), minutes(70))]
    assert service.uncovered_share(minutes(0), minutes(60), earlier) == pytest.approx(30 / 60)


def test_counted_inputs_clamp_lines_and_files():
    counted = service.counted_inputs(EffortInputs(loc_total=10**7, changed_files_count=10**6))
    assert (counted.loc_total, counted.changed_files_count) == (service.MAX_COUNTED_LOC, service.MAX_COUNTED_FILES)


def test_stored_changed_files_are_capped_but_counted(jira, client, auth):
    files = [f"src/file-{n}.ts" for n in range(300)]
    _snapshot(client, auth, _window("2026-04-04T10:00:00Z", "2026-04-04T10:15:00Z", changedFiles=files))
    board = jira.get("/v1/jira/team-competition?startDate=2026-04-01&endDate=2026-04-30").get_json()
    item = board["items"][0]
    assert item["changedFiles"] == files[:service.MAX_STORED_CHANGED_FILES]
    assert item["changedFilesCount"] == 300


def test_team_competition_answers_at_most_the_newest_items(app, jira, client, auth):
    app.config["SEECODES_BOARD_MAX_ITEMS"] = 3
    for hour in range(5):
        _snapshot(client, auth, _window(f"2026-04-04T1{hour}:00:00Z", f"2026-04-04T1{hour}:15:00Z",
                                        changedFiles=["a.ts"]))
    board = jira.get("/v1/jira/team-competition?startDate=2026-04-01&endDate=2026-04-30").get_json()
    assert [item["timestamp"][:13] for item in board["items"]] == ["2026-04-04T12", "2026-04-04T13", "2026-04-04T14"]
    assert all(item["changedFiles"] == ["a.ts"] for item in board["items"])
    assert board["itemsTruncated"] is True and board["totalItems"] == 5
    assert board["taskSummaries"][0]["snapshotCount"] == 5
    assert board["sourceSummary"]["snapshotItems"] == 5
