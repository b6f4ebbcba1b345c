"""What the reaper writes when it fails a run: the run's log says once that the credits were refunded."""
from datetime import timedelta

import pytest

from seecodes import clock
from seecodes.runs import dispatch

from .conftest import reap_now

STALE = 120
TIMEOUT = 600


@pytest.mark.backends("sqlite")
def test_a_reaped_runs_failure_line_says_credits_refunded_once(app, runs, served, funded, hanging, credits_of):
    run_id = runs.started(model=hanging)
    assert runs.wait(run_id, until=("processing_remote",))["status"] == "processing_remote"
    clock.travel(timedelta(seconds=STALE + 1))
    assert reap_now(app).failed == [run_id]
    failure = [line for line in runs.logs(run_id).text.splitlines() if " failed: " in line]
    assert len(failure) == 1 and failure[0].count("credits refunded") == 1, failure
    assert failure[0].endswith("failed: The run's worker stopped responding; credits refunded")
    assert credits_of(funded) == 1000


@pytest.mark.backends("sqlite")
def test_a_queued_run_lost_in_a_restart_says_credits_refunded_once(app, runs, served, funded, monkeypatch):
    monkeypatch.setattr(dispatch, "submit", lambda app, run_id: None)  # the process died before running it
    run_id = runs.started()
    clock.travel(timedelta(seconds=STALE + TIMEOUT + 5))
    assert reap_now(app).failed == [run_id]
    failure = [line for line in runs.logs(run_id).text.splitlines() if " failed: " in line]
    assert len(failure) == 1 and failure[0].count("credits refunded") == 1, failure
