"""Conditional state changes: one winner per transition, failures refund once."""
import pytest
from sqlalchemy import select

from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs import state
from seecodes.runs.models import FAILED, IN_PROCESS, INITIALIZED, PROCESSING_REMOTE, QUEUED, SUCCEEDED, Run

# The default backends (sqlite, postgresql): these are statements on the database; no worker, queue or store
# takes part, so the production backend would only run the PostgreSQL case again.


@pytest.fixture
def run_id(runs):
    return runs.init().get_json()["runId"]


def test_a_transition_happens_once(app, run_id):
    with app.app_context():
        assert state.move(run_id, INITIALIZED, QUEUED) is True
        assert state.move(run_id, INITIALIZED, QUEUED) is False
        db.session.commit()
        assert db.session.get(Run, run_id).status == QUEUED


def test_an_illegal_transition_is_a_programming_error(app, run_id):
    with app.app_context(), pytest.raises(AssertionError):
        state.move(run_id, INITIALIZED, IN_PROCESS)


def test_a_failed_run_is_refunded_once(app, run_id, funded, credits_of):
    _debited(app, run_id)
    with app.app_context():
        assert state.fail(run_id, "boom") is True
        assert state.fail(run_id, "boom again") is False
        db.session.commit()
        kinds = db.session.execute(select(UsageRow.type).where(UsageRow.run_id == run_id)).scalars().all()
        assert sorted(kinds) == ["refund", "task_run"] and db.session.get(Run, run_id).status == FAILED
    assert credits_of(funded) == 1000


def _debited(app, run_id, credits_to_take=20):
    """Queue the run and debit it, as a start does (tests/runs/test_start_debit.py tests the start itself)."""
    with app.app_context():
        run = db.session.get(Run, run_id)
        moved, debited, _ = state.queue_debited(run_id, run.installation_pk, credits_to_take, "queued: test",
                                                user_prompt=None, estimated_input_tokens=1, input_versions={})
        assert moved and debited
        db.session.commit()


def _kinds(app, run_id):
    with app.app_context():
        return sorted(db.session.execute(select(UsageRow.type).where(UsageRow.run_id == run_id)).scalars())


def test_a_second_refund_of_one_run_gives_nothing_back(app, run_id, funded, credits_of):
    from seecodes.credits import service as credits

    _debited(app, run_id)
    with app.app_context():
        assert credits.refund(run_id) is True
        db.session.commit()
        assert credits.refund(run_id) is False
        db.session.commit()
    assert credits_of(funded) == 1000
    assert _kinds(app, run_id) == ["refund", "task_run"]


def test_failing_a_run_that_already_succeeded_changes_and_refunds_nothing(app, run_id, funded, credits_of):
    _debited(app, run_id)
    with app.app_context():
        assert state.move(run_id, QUEUED, IN_PROCESS) and state.move(run_id, IN_PROCESS, PROCESSING_REMOTE)
        assert state.move(run_id, PROCESSING_REMOTE, SUCCEEDED)
        db.session.commit()
        assert state.fail(run_id, "the reaper came too late") is False
        db.session.commit()
        assert db.session.get(Run, run_id).status == SUCCEEDED
    assert credits_of(funded) == 980
    assert _kinds(app, run_id) == ["task_run"]
