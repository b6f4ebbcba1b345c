"""Exactly one of {succeeded, failed, cancelled} wins when the worker's success, the reaper's failure and the
user's cancel race for one run (PostgreSQL, real parallel transactions), and the credits ledger stays exact."""
import pytest
from sqlalchemy import func, select

from seecodes import clock
from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.installations import service as installations
from seecodes.runs import dispatch, recorder, state
from seecodes.runs.models import CANCELLED, FAILED, SUCCEEDED, Run

from ..helpers import pool_for, race

pytestmark = [pytest.mark.backends("postgresql")]
ROUNDS = 6


@pytest.fixture
def app_overrides():
    return pool_for(4)


def _in_flight(app, runs, monkeypatch):
    """A started (debited) run that a job has claimed and handed to its provider."""
    monkeypatch.setattr(dispatch, "enqueue", lambda run_id: None)
    run_id = runs.started()
    with app.app_context():
        worker = recorder.recorder()
        try:
            assert worker.claim(run_id, "racer") is not None
            assert worker.start_remote(run_id, "processing_remote: racing")
        finally:
            worker.close()
    return run_id


def test_worker_reaper_and_cancel_race_and_exactly_one_settles_the_run(app, runs, served, funded, credits_of,
                                                                       monkeypatch):
    winners = []
    for _ in range(ROUNDS):
        run_id = _in_flight(app, runs, monkeypatch)

        def settle(index):
            if index == 2:
                return runs.client.post(f"/v1/tasks/{run_id}/cancel", headers=runs.headers).status_code == 200
            with app.app_context():
                try:
                    if index == 0:
                        worker = recorder.recorder()
                        try:
                            return worker.succeed(run_id, "succeeded: raced", output_key="o", result_zip_key="z",
                                                  input_tokens=1, output_tokens=1, finished_at=clock.now())
                        finally:
                            worker.close()
                    settled = state.fail(run_id, "The run's job was lost; credits refunded.")
                    db.session.commit()
                    return settled
                finally:
                    db.session.remove()

        results = race(3, settle)
        assert not [r for r in results if isinstance(r, Exception)], results
        assert sum(results) == 1, results
        with app.app_context():
            status = db.session.execute(select(Run.status).where(Run.id == run_id)).scalar_one()
        assert status == {0: SUCCEEDED, 1: FAILED, 2: CANCELLED}[results.index(True)]
        winners.append(status)
    with app.app_context():
        installation = installations.get_by_installation_id(funded)
        debits = db.session.execute(select(func.coalesce(func.sum(UsageRow.credits), 0)).where(
            UsageRow.installation_pk == installation.id, UsageRow.type == "task_run")).scalar_one()
        refunds = db.session.execute(select(func.coalesce(func.sum(UsageRow.credits), 0)).where(
            UsageRow.installation_pk == installation.id, UsageRow.type == "refund")).scalar_one()
        refunded_runs = db.session.execute(select(func.count()).select_from(UsageRow).where(
            UsageRow.installation_pk == installation.id, UsageRow.type == "refund")).scalar_one()
    assert credits_of(funded) == 1000 - debits + refunds
    assert refunded_runs == sum(status != SUCCEEDED for status in winners)
