"""Conditional state changes: one winner per transition, failures refund once."""
import pytest
from sqlalchemy import select

from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs import state
from seecodes.runs.models import FAILED, IN_PROCESS, INITIALIZED, QUEUED, Run

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")


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
    from seecodes.credits import service as credits

    with app.app_context():
        run = db.session.get(Run, run_id)
        state.move(run_id, INITIALIZED, QUEUED)
        credits.debit(run.installation_pk, 20, run_id=run_id, project_id="AUTH", task_id="AUTH-128",
                      user_account_id=None)
        db.session.commit()
        assert state.fail(run_id, "boom") is True
        assert state.fail(run_id, "boom again") is False
        db.session.commit()
        kinds = db.session.execute(select(UsageRow.type).where(UsageRow.run_id == run_id)).scalars().all()
        assert sorted(kinds) == ["refund", "task_run"] and db.session.get(Run, run_id).status == FAILED
    assert credits_of(funded) == 1000
