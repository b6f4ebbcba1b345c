"""The start of a run with its debit (runs/state.py queue_debited), one rule on both databases: the move, the
debit, its usage row and the log line happen together or not at all, answered and counted alike on SQLite and
PostgreSQL; the start route turns the answer into 409 run_already_started / 402 insufficient_credits."""
import pytest
import requests
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.installations.models import Installation
from seecodes.runs import state
from seecodes.runs.models import INITIALIZED, QUEUED, Run, RunLogLine

from ..contract_examples import RUN_START_EXAMPLE
from ..helpers import assert_envelope, bearer, pool_for, race, raced_statuses

pytestmark = pytest.mark.backends("sqlite", "postgresql")  # statements on the database: no worker takes part

PRICE = 20
LINE = "queued: model 'strict light', provider offline, 1 file(s), 9 bytes, ~35 input tokens, 20 credits debited"
VERSIONS = {"list.md": {"size": 9, "etag": "e-1"}}


@pytest.fixture
def run_id(runs):
    return runs.init().get_json()["runId"]


def _start(run_id, price=PRICE):
    """queue_debited as the start route calls it; answers its (moved, debited, available), uncommitted."""
    run = db.session.get(Run, run_id)
    return state.queue_debited(run_id, run.installation_pk, price, LINE, user_prompt="generate change log",
                               estimated_input_tokens=35, input_versions=VERSIONS)


def _written(run_id):
    """What a start leaves behind: the run's status, its usage rows, its log lines, its installation's credits."""
    run = db.session.get(Run, run_id)
    db.session.refresh(run)
    usage = db.session.execute(select(UsageRow.type, UsageRow.credits).where(UsageRow.run_id == run_id)).all()
    lines = db.session.execute(select(RunLogLine.line).where(RunLogLine.run_id == run_id)).scalars().all()
    credits = db.session.execute(select(Installation.credits).where(Installation.id == run.installation_pk)).scalar()
    return run.status, [tuple(row) for row in usage], lines, credits


def _counted():
    """The committed starts and debits this process has counted (seecodes.prometheus)."""
    return (REGISTRY.get_sample_value("seecodes_run_transitions_total", {"source": INITIALIZED, "target": QUEUED})
            or 0.0, REGISTRY.get_sample_value("seecodes_credits_debited_total") or 0.0)


def test_a_start_moves_the_run_debits_it_and_logs_the_line_at_one_moment(app, run_id, funded):
    counted = _counted()
    with app.app_context():
        assert _start(run_id) == (True, True, 1000)
        assert _counted() == counted  # counted only once committed
        db.session.commit()
        assert _counted() == (counted[0] + 1, counted[1] + PRICE)
        assert _written(run_id) == (QUEUED, [("task_run", PRICE)], [LINE], 1000 - PRICE)
        run = db.session.get(Run, run_id)
        usage = db.session.execute(select(UsageRow).where(UsageRow.run_id == run_id)).scalar_one()
        logged = db.session.execute(select(RunLogLine.logged_at).where(RunLogLine.run_id == run_id)).scalar_one()
        installation = db.session.get(Installation, run.installation_pk)
        assert (run.estimated_credits, run.user_prompt, run.estimated_input_tokens, run.input_versions) == \
            (PRICE, "generate change log", 35, VERSIONS)
        assert (usage.installation_pk, usage.project_id, usage.task_id, usage.user_account_id) == \
            (run.installation_pk, run.project_id, run.task_id, run.user_account_id)
        assert {run.updated_at, run.queued_at, run.heartbeat_at, usage.created_at, logged,
                installation.updated_at} == {run.queued_at}


def test_a_start_without_enough_credits_moves_nothing_and_writes_nothing(app, run_id, installation_id, grant):
    grant(installation_id, PRICE - 1)
    counted = _counted()
    with app.app_context():
        assert _start(run_id) == (True, False, PRICE - 1)
        # Moved in the transaction (the caller rolls it back), but nothing of the debit is written with it.
        assert _written(run_id) == (QUEUED, [], [], PRICE - 1)
        db.session.rollback()
        assert _written(run_id) == (INITIALIZED, [], [], PRICE - 1)
    assert _counted() == counted


def test_a_start_without_enough_credits_is_402_with_what_it_needs_and_what_there_is(runs, served, installation_id,
                                                                                      grant, credits_of, usage_of):
    grant(installation_id, 3)
    run_id, _ = runs.prepared()
    answer = assert_envelope(runs.start(run_id), 402, "insufficient_credits")
    assert answer["availableCredits"] == 3 and answer["requiredCredits"] > 3
    assert credits_of(installation_id) == 3 and usage_of(run_id) == []
    assert runs.status(run_id).get_json()["status"]["status"] == INITIALIZED
    assert runs.logs(run_id).get_data(as_text=True) == ""


def test_starting_a_started_run_debits_nothing(app, run_id, funded):
    with app.app_context():
        assert _start(run_id) == (True, True, 1000)
        db.session.commit()
        counted = _counted()
        assert _start(run_id) == (False, False, 1000 - PRICE)
        db.session.commit()
        assert _written(run_id) == (QUEUED, [("task_run", PRICE)], [LINE], 1000 - PRICE)
    assert _counted() == counted


def test_a_second_start_is_409_and_debits_nothing(runs, served, funded, credits_of, usage_of):
    run_id = runs.started()
    credits = credits_of(funded)
    assert_envelope(runs.start(run_id), 409, "run_already_started")
    assert credits_of(funded) == credits and [kind for kind, *_ in usage_of(run_id)] == ["task_run"]


@pytest.mark.parametrize("app_overrides", [pool_for(2)])
def test_two_starts_of_one_run_at_once_debit_it_once(app, runs, served, funded, permit, credits_of, usage_of):
    spent = 0
    for round_number in range(5):
        run_id, _ = runs.prepared()
        results = race(2, lambda _: requests.post(f"{served}/v1/tasks/{run_id}/start", json=RUN_START_EXAMPLE,
                                                  headers=bearer(permit), timeout=60))
        assert raced_statuses(results) == [200, 409], f"round {round_number}"
        assert_envelope(next(r for r in results if r.status_code == 409), 409, "run_already_started")
        price = next(r for r in results if r.status_code == 200).json()["estimatedCredits"]
        assert [kind for kind, *_ in usage_of(run_id)] == ["task_run"], f"round {round_number}"
        with app.app_context():
            queued_lines = db.session.execute(select(func.count()).select_from(RunLogLine).where(
                RunLogLine.run_id == run_id, RunLogLine.line.startswith("queued:"))).scalar()
        assert queued_lines == 1, f"round {round_number}"
        spent += price
        assert credits_of(funded) == 1000 - spent, f"round {round_number}"
        runs.wait(run_id)
