"""The reaper on the embedded default and on the production deployment, and `flask runs reap`.
(Concurrent starts: test_run_races.py.)"""
from datetime import timedelta

import pytest

from seecodes import clock
from seecodes.runs import dispatch

from .conftest import reap_now

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")

STALE = 120
TIMEOUT = 600


def test_a_run_whose_heartbeat_went_stale_ends_failed_and_refunded(app, runs, served, funded, hanging, credits_of):
    run_id = runs.started(model=hanging)
    assert runs.wait(run_id, until=("processing_remote",))["status"] == "processing_remote"
    clock.travel(timedelta(seconds=STALE + 1))
    assert reap_now(app).failed == [run_id]
    status = runs.status(run_id).get_json()["status"]
    assert status["status"] == "failed" and "stopped responding" in status["error"]
    assert credits_of(funded) == 1000


def test_a_healthy_running_run_is_left_alone(app, runs, served, funded, hanging):
    run_id = runs.started(model=hanging)
    runs.wait(run_id, until=("processing_remote",))
    assert reap_now(app).failed == []
    assert runs.status(run_id).get_json()["status"]["status"] == "processing_remote"


def test_logs_are_readable_while_the_run_is_going(runs, served, funded, hanging):
    run_id = runs.started(model=hanging)
    runs.wait(run_id, until=("processing_remote",))
    logs = runs.logs(run_id)
    assert logs.status_code == 200 and "processing_remote:" in logs.text and "succeeded" not in logs.text


@pytest.mark.backends("sqlite", "postgresql")  # the embedded executor's own rule
def test_a_queued_run_lost_in_a_restart_ends_failed_and_refunded(app, runs, served, funded, credits_of,
                                                                 monkeypatch):
    monkeypatch.setattr(dispatch, "submit", lambda app, run_id: None)  # the process died before running it
    run_id = runs.started()
    clock.travel(timedelta(seconds=STALE + TIMEOUT - 5))
    assert reap_now(app).failed == []
    clock.travel(timedelta(seconds=10))
    assert reap_now(app).failed == [run_id]
    assert runs.status(run_id).get_json()["status"]["status"] == "failed"
    assert credits_of(funded) == 1000


def test_flask_runs_reap_reports_what_it_did(app, runs, served, funded, hanging):
    run_id = runs.started(model=hanging)
    runs.wait(run_id, until=("processing_remote",))
    clock.travel(timedelta(seconds=STALE + 1))
    result = app.test_cli_runner().invoke(args=["runs", "reap"])
    assert result.exit_code == 0, result.output
    assert f"failed {run_id}" in result.output and "reaped: 1 failed and refunded, 0 re-queued" in result.output
