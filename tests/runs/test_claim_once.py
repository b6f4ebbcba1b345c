"""A run's job does its work once: a job that runs again after the run settled is skipped, and two jobs that
claim one queued run at the same moment have exactly one winner (on PostgreSQL, with real parallel claims)."""
import pytest
from sqlalchemy import select

from seecodes.extensions import db
from seecodes.runs import jobs, recorder, state
from seecodes.runs.models import IN_PROCESS, INITIALIZED, QUEUED, SUCCEEDED, Run

from ..helpers import pool_for, race

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def test_a_job_run_again_after_success_is_skipped_and_changes_nothing(app, runs, served, funded, credits_of):
    run_id = runs.started()
    assert runs.wait(run_id)["status"] == SUCCEEDED
    output, log, credits = runs.output(run_id).data, runs.logs(run_id).data, credits_of(funded)
    with app.app_context():
        assert jobs.execute_run(run_id) == "skipped"
        run = db.session.get(Run, run_id)
        assert (run.status, run.attempts) == (SUCCEEDED, 1)
    assert (runs.output(run_id).data, runs.logs(run_id).data, credits_of(funded)) == (output, log, credits)


@pytest.mark.parametrize("status", [INITIALIZED, SUCCEEDED])
def test_the_recorders_claim_only_a_queued_run(app, runs, served, funded, status):
    run_id = runs.started() if status == SUCCEEDED else runs.init().get_json()["runId"]
    if status == SUCCEEDED:
        assert runs.wait(run_id)["status"] == SUCCEEDED
    with app.app_context():
        chosen = recorder.recorder()
        try:
            assert chosen.claim(run_id, "host pid 1") is None
        finally:
            chosen.close()
        assert db.session.execute(select(Run.status).where(Run.id == run_id)).scalar_one() == status


@pytest.fixture
def app_overrides():
    return pool_for(8)


@pytest.mark.backends("postgresql")
def test_parallel_claims_of_one_queued_run_have_exactly_one_winner(app, runs, funded):
    run_id = runs.init().get_json()["runId"]
    with app.app_context():
        assert state.move(run_id, INITIALIZED, QUEUED)
        db.session.commit()

    def claim(index):
        with app.app_context():
            chosen = recorder.recorder()
            try:
                return chosen.claim(run_id, f"host pid {index}")
            finally:
                chosen.close()
                db.session.remove()

    results = race(8, claim)
    assert not [result for result in results if isinstance(result, Exception)], results
    assert sum(result is not None for result in results) == 1
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert (run.status, run.attempts) == (IN_PROCESS, 1)
        picked = [line for line in state.log_text(run_id).splitlines() if "picked up by" in line]
        assert len(picked) == 1
