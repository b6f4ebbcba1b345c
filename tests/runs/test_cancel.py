"""POST /v1/tasks/{runId}/cancel: every status before a final one ends cancelled with its debit refunded, once;
a settled run is a 409; the permit's binding holds; a job still working stops and its work is discarded."""
import pytest
from sqlalchemy import select

from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs import dispatch
from seecodes.runs.models import (
    CANCELLED,
    FAILED,
    PROCESSING_REMOTE,
    QUEUED,
    SUCCEEDED,
    Run,
)

from ..helpers import assert_envelope, bearer
from ..production import wait_until_idle

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")


def _cancel(runs, run_id, **headers):
    return runs.client.post(f"/v1/tasks/{run_id}/cancel", headers={**runs.headers, **headers})


def _ledger(app, run_id):
    with app.app_context():
        return sorted((row.type, row.credits) for row in db.session.execute(
            select(UsageRow).where(UsageRow.run_id == run_id)).scalars())


def test_an_initialized_run_is_cancelled_at_once_and_cannot_be_started(runs, funded, credits_of):
    run_id = runs.init().get_json()["runId"]
    answer = _cancel(runs, run_id)
    assert answer.status_code == 200
    assert answer.get_json() == {"ok": True, "runId": run_id, "status": CANCELLED, "refundedCredits": 0}
    assert runs.status(run_id).get_json()["status"]["status"] == CANCELLED
    assert_envelope(runs.start(run_id), 409, "run_already_started")
    assert credits_of(funded) == 1000


@pytest.mark.backends("sqlite", "postgresql")
def test_a_queued_run_is_cancelled_with_its_whole_debit_refunded(app, runs, served, funded, credits_of,
                                                                  monkeypatch):
    monkeypatch.setattr(dispatch, "enqueue", lambda run_id: None)  # no job picks it up: it stays queued
    run_id = runs.started()
    assert runs.status(run_id).get_json()["status"]["status"] == QUEUED
    debited = 1000 - credits_of(funded)
    assert debited > 0
    answer = _cancel(runs, run_id).get_json()
    assert (answer["status"], answer["refundedCredits"]) == (CANCELLED, debited)
    assert credits_of(funded) == 1000
    assert _ledger(app, run_id) == sorted([("task_run", debited), ("refund", debited)])
    assert runs.logs(run_id).text.splitlines()[-1].endswith("cancelled by the user; credits refunded")


def _jobs_done(app, backend, request):
    """Wait until no job works on any run (the embedded executor's threads, or the RQ worker)."""
    if backend == "production":
        assert wait_until_idle(request.getfixturevalue("redis_db"))
    else:
        dispatch.shutdown(app)


def test_a_run_in_flight_is_cancelled_and_its_jobs_work_discarded(app, backend, request, runs, served, funded,
                                                                   credits_of, hanging, fake_openai):
    run_id = runs.started(model=hanging)
    assert runs.wait(run_id, until=(PROCESSING_REMOTE,))["status"] == PROCESSING_REMOTE
    answer = _cancel(runs, run_id).get_json()
    assert answer["status"] == CANCELLED and answer["refundedCredits"] > 0
    assert credits_of(funded) == 1000
    fake_openai.release.set()  # the provider answers now: the job's success is refused, its work discarded
    _jobs_done(app, backend, request)
    with app.app_context():
        run = db.session.execute(select(Run.status, Run.output_key, Run.result_zip_key).where(Run.id == run_id)).one()
    assert (run.status, run.output_key, run.result_zip_key) == (CANCELLED, None, None)
    assert_envelope(runs.output(run_id), 409, "run_not_succeeded")
    assert credits_of(funded) == 1000


def test_cancelling_twice_answers_the_same(runs, served, funded, monkeypatch):
    run_id = runs.init().get_json()["runId"]
    first = _cancel(runs, run_id)
    second = _cancel(runs, run_id)
    assert second.status_code == 200 and second.get_json() == first.get_json()


@pytest.mark.parametrize("settled", [SUCCEEDED, FAILED])
def test_a_settled_run_cannot_be_cancelled(app, runs, served, funded, credits_of, settled, add_model, fake_openai):
    model = "strict light" if settled == SUCCEEDED else add_model("fake fail", config=fake_openai.config("fail"))
    run_id = runs.started(model=model)
    assert runs.wait(run_id)["status"] == settled
    before = credits_of(funded)
    body = assert_envelope(_cancel(runs, run_id), 409, "run_already_settled")
    assert body["runStatus"] == settled
    assert runs.status(run_id).get_json()["status"]["status"] == settled and credits_of(funded) == before


def test_cancel_keeps_the_permits_binding(runs, jira, client):
    run_id = runs.init().get_json()["runId"]
    other_task = bearer(jira.permit("AUTH", "AUTH-999"))
    assert_envelope(client.post(f"/v1/tasks/{run_id}/cancel", headers=other_task), 403, "permit_binding_mismatch")
    assert_envelope(client.post("/v1/tasks/run_000000000000000000000000/cancel", headers=runs.headers), 404,
                    "run_not_found")
    assert_envelope(client.post(f"/v1/tasks/{run_id}/cancel"), 401, "credential_missing")
    assert runs.status(run_id).get_json()["status"]["status"] == "initialized"
