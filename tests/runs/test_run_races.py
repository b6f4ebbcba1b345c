"""Runs under real concurrency: parallel starts, credits for fewer runs than start, a worker racing the reaper."""
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from seecodes import clock
from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs import rules, state
from seecodes.runs.models import FAILED, IN_PROCESS, PROCESSING_REMOTE, QUEUED, SUCCEEDED, Run

from ..contract_examples import RUN_START_EXAMPLE as EXAMPLE_START
from ..helpers import assert_envelope, bearer, pool_for, race, raced_statuses
from .conftest import LIST_MD, reap_now

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")

THREADS = 8
ROUNDS = 10
PRICE = rules.price(12.5, 0.0006, rules.estimate_input_tokens({"list.md": len(LIST_MD)}, EXAMPLE_START["userPrompt"]))


@pytest.fixture
def app_overrides():
    # The rounds below leave up to 3 × THREADS runs initialized (refused at start), more than the default cap.
    return {**pool_for(THREADS), "SEECODES_MAX_OPEN_RUNS": 100}


def _start(served, permit, run_id):
    return requests.post(f"{served}/v1/tasks/{run_id}/start", json=EXAMPLE_START, headers=bearer(permit), timeout=60)


def _kinds(usage_of, run_id):
    return [kind for kind, *_ in usage_of(run_id)]


def test_concurrent_starts_of_one_run_queue_it_once_and_debit_once(runs, served, funded, permit, credits_of,
                                                                   usage_of):
    started = []
    for round_number in range(ROUNDS):
        run_id, _ = runs.prepared()
        results = race(THREADS, lambda i: _start(served, permit, run_id))
        assert raced_statuses(results) == [200] + [409] * (THREADS - 1), f"round {round_number}"
        for loser in (r for r in results if r.status_code == 409):
            assert_envelope(loser, 409, "run_already_started")
        assert _kinds(usage_of, run_id) == ["task_run"], f"round {round_number}"
        started.append(run_id)
    assert credits_of(funded) == 1000 - ROUNDS * PRICE
    for run_id in started:
        assert runs.wait(run_id)["status"] == "succeeded"


def test_parallel_starts_of_different_runs_with_credits_for_one_queue_exactly_one(runs, served, installation_id,
                                                                                 grant, permit, credits_of,
                                                                                 usage_of):
    for round_number in range(3):
        prepared = [runs.prepared()[0] for _ in range(THREADS)]
        grant(installation_id, PRICE)
        results = race(THREADS, lambda i: _start(served, permit, prepared[i]))
        assert raced_statuses(results) == [200] + [402] * (THREADS - 1), f"round {round_number}"
        for loser in (r for r in results if r.status_code == 402):
            assert_envelope(loser, 402, "insufficient_credits")
        assert credits_of(installation_id) == 0, f"round {round_number}: overdrawn or lost a debit"
        charged = [run_id for run_id in prepared if usage_of(run_id)]
        assert len(charged) == 1 and _kinds(usage_of, charged[0]) == ["task_run"]
        statuses = sorted(runs.status(run_id).get_json()["status"]["status"] for run_id in prepared)
        assert statuses.count("initialized") == THREADS - 1
        runs.wait(charged[0])


def _refunds(app, run_id) -> int:
    with app.app_context():
        return len(db.session.execute(
            select(UsageRow.id).where(UsageRow.run_id == run_id, UsageRow.type == "refund")).all())


def test_a_worker_finishing_while_the_reaper_fails_the_run_settles_it_once(app, runs, served, funded, hanging,
                                                                           fake_openai, credits_of, usage_of):
    kept = 0
    for round_number in range(3):
        fake_openai.release.clear()
        run_id = runs.started(model=hanging)
        assert runs.wait(run_id, until=("processing_remote",))["status"] == "processing_remote"
        clock.travel(timedelta(seconds=121))  # the reaper now takes the run's heartbeat for dead

        def act(index):
            if index == 0:
                fake_openai.release.set()  # the provider answers: the worker finishes the run
                return None
            return reap_now(app)

        results = race(2, act)
        assert not any(isinstance(result, Exception) for result in results), results
        final = runs.wait(run_id, until=(SUCCEEDED, FAILED))
        refunds = _refunds(app, run_id)
        if final["status"] == SUCCEEDED:
            assert results[1].failed == [] and refunds == 0, f"round {round_number}: {final}"
            kept += usage_of(run_id)[0][1]
        else:
            assert results[1].failed == [run_id] and refunds == 1, f"round {round_number}: {final}"
        clock.reset()
    assert credits_of(funded) == 1000 - kept  # succeeded rounds keep their debit, failed ones were refunded once


def _processing_run(app, runs) -> str:
    """A debited run in processing_remote, as a worker leaves it just before it writes the result."""
    run_id = runs.init().get_json()["runId"]
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert state.queue_debited(run_id, run.installation_pk, 20, "queued: test", user_prompt=None,
                                   estimated_input_tokens=1, input_versions={})[:2] == (True, True)
        assert state.move(run_id, QUEUED, IN_PROCESS) and state.move(run_id, IN_PROCESS, PROCESSING_REMOTE)
        db.session.commit()
    return run_id


@pytest.mark.backends("sqlite", "postgresql")  # statements in the test process: production adds nothing here
def test_success_and_failure_racing_on_one_run_leave_one_terminal_state_and_at_most_one_refund(app, runs, funded,
                                                                                                 credits_of):
    for round_number in range(ROUNDS):
        run_id = _processing_run(app, runs)

        def act(index):
            with app.app_context():
                try:
                    if index == 0:
                        won = state.move(run_id, PROCESSING_REMOTE, SUCCEEDED, finished_at=clock.now())
                    else:
                        won = state.fail(run_id, "reaped", (PROCESSING_REMOTE,))
                    db.session.commit()
                    return won
                finally:
                    db.session.remove()

        succeeded, failed = race(2, act)
        assert [succeeded, failed].count(True) == 1, f"round {round_number}: {succeeded, failed}"
        with app.app_context():
            status = db.session.get(Run, run_id).status
        assert status == (SUCCEEDED if succeeded else FAILED)
        assert _refunds(app, run_id) == (1 if failed else 0), f"round {round_number}"
