"""Run data lifetime (seecodes/runs/lifetime.py): an unstarted run expires and its uploads are deleted, a settled
run's inputs, results and log are removed after the retention, and an installation's open runs are capped; on
local storage and on S3 (moto), through `retention.prune` as `flask maintenance prune` and the scheduler run it."""
import uuid
from datetime import datetime, timedelta

import pytest
import requests
from sqlalchemy import func, select

from seecodes import clock, retention, storage
from seecodes.errors import Unavailable
from seecodes.extensions import db
from seecodes.runs import lifetime
from seecodes.runs.models import FAILED, INITIALIZED, QUEUED, Run, RunLogLine
from seecodes.storage import keys

from ..conftest import new_installation_id
from ..helpers import JiraSession, assert_envelope, bearer, pool_for, race, raced_statuses
from .conftest import LIST_MD, RunDriver

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")

TTL = 3600  # below the permit's 24 h, so a test's permit outlives the runs it lets expire
THREADS = 8
MOMENT = datetime(2026, 12, 1, 12, 0, 0)


@pytest.fixture
def app_overrides():
    return {"SEECODES_RUN_INIT_TTL_SECONDS": TTL, **pool_for(THREADS)}


def prune(app, now=None):
    with app.app_context():
        try:
            return retention.prune(now)
        finally:
            db.session.remove()


def objects(app, run_id) -> dict:
    """What the store holds of the run: every input and result key that exists."""
    with app.app_context():
        store = storage.get(app)
        names = [keys.input_key(run_id, "list.md"), keys.result_key(run_id, keys.OUTPUT_NAME),
                 keys.result_key(run_id, keys.ZIP_NAME)]
        return {key: version for key in names if (version := store.head(key)) is not None}


def run_row(app, run_id) -> Run:
    with app.app_context():
        run = db.session.get(Run, run_id)
        db.session.expunge(run)
        return run


def log_lines(app, run_id) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(RunLogLine)
                                  .where(RunLogLine.run_id == run_id)).scalar_one()


# --- the rules ------------------------------------------------------------------------------------------------

@pytest.mark.backends("sqlite")
def test_a_run_expires_exactly_its_ttl_after_its_init():
    assert not lifetime.has_expired(MOMENT, MOMENT + timedelta(seconds=TTL - 1), TTL)
    assert lifetime.has_expired(MOMENT, MOMENT + timedelta(seconds=TTL), TTL)
    assert lifetime.open_since(MOMENT, TTL) == MOMENT - timedelta(hours=1)


@pytest.mark.backends("sqlite")
def test_settled_data_is_kept_for_whole_days():
    assert lifetime.data_kept_since(MOMENT, 30) == MOMENT - timedelta(days=30)


@pytest.mark.backends("sqlite")
def test_only_a_failed_run_that_was_never_queued_counts_as_expired():
    assert lifetime.was_expired(FAILED, None)
    assert not lifetime.was_expired(FAILED, MOMENT)
    assert not lifetime.was_expired(INITIALIZED, None)
    assert not lifetime.was_expired(QUEUED, MOMENT)


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("seconds, words", [(86400, "24 h"), (3600, "1 h"), (1800, "30 min"), (90, "90 s"),
                                            (5400, "90 min"), (1, "1 s")])
def test_lifetimes_read_in_their_largest_whole_unit(seconds, words):
    assert lifetime.duration(seconds) == words


@pytest.mark.backends("sqlite")
def test_the_expiry_error_says_what_happened_and_what_to_do():
    assert lifetime.expiry_error(86400) == ("The run was not started within 24 h of its init: it expired and its "
                                            "uploads were deleted. Initialize a new run.")


# --- expiry of unstarted runs ---------------------------------------------------------------------------------

def test_an_unstarted_run_expires_and_its_uploads_are_deleted(app, runs, served, funded, credits_of):
    run_id, _ = runs.prepared()
    assert keys.input_key(run_id, "list.md") in objects(app, run_id)
    clock.travel(timedelta(seconds=TTL - 1))
    assert prune(app).rows["expired_runs"] == 0
    clock.travel(timedelta(seconds=1))
    pruned = prune(app)
    assert pruned.rows["expired_runs"] == 1 and pruned.rows["run_objects"] == 1
    status = runs.status(run_id).get_json()["status"]
    assert status["status"] == "failed" and status["error"] == lifetime.expiry_error(TTL)
    assert objects(app, run_id) == {}
    assert credits_of(funded) == 1000  # nothing was charged, nothing refunded
    assert "failed: The run was not started within 1 h" in runs.logs(run_id).text
    assert_envelope(runs.start(run_id), 409, "run_expired")


def test_a_run_past_its_ttl_cannot_be_started_before_the_pass_marks_it(app, runs, served, funded):
    run_id, document = runs.prepared()
    clock.travel(timedelta(seconds=TTL))
    body = assert_envelope(runs.start(run_id), 409, "run_expired")
    assert body["detail"] == lifetime.expiry_error(TTL)
    assert runs.status(run_id).get_json()["status"]["status"] == "initialized"  # the pass has not run yet


@pytest.mark.backends("sqlite", "postgresql")
def test_the_local_store_refuses_uploads_to_an_expired_run(app, runs, served, funded):
    run_id, document = runs.prepared()
    clock.travel(timedelta(seconds=TTL))
    assert_envelope(runs.upload(document["uploads"]["list.md"], LIST_MD), 409, "run_expired")
    prune(app)
    assert_envelope(runs.upload(document["uploads"]["list.md"], LIST_MD), 409, "run_expired")
    assert objects(app, run_id) == {}


def test_a_run_started_in_time_never_expires(app, runs, served, funded):
    run_id = runs.started()
    assert runs.wait(run_id)["status"] == "succeeded"
    clock.travel(timedelta(seconds=TTL + 1))
    assert prune(app).rows["expired_runs"] == 0
    assert runs.status(run_id).get_json()["status"]["status"] == "succeeded"
    assert runs.output(run_id).status_code == 200


def test_a_store_failure_at_expiry_leaves_the_objects_to_the_retention(app, runs, served, funded, monkeypatch):
    run_id, _ = runs.prepared()
    clock.travel(timedelta(seconds=TTL))

    def down(self, prefix):
        raise Unavailable("Object storage is unavailable (test).", code="storage_unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(type(storage.get(app)), "delete_prefix", down)
        assert prune(app).rows["expired_runs"] == 1  # expired all the same: it can never start
    assert runs.status(run_id).get_json()["status"]["status"] == "failed"
    assert keys.input_key(run_id, "list.md") in objects(app, run_id)
    clock.travel(timedelta(days=30))
    assert prune(app).rows["run_data"] == 1
    assert objects(app, run_id) == {}


# --- retention of settled runs' data --------------------------------------------------------------------------

def fresh_driver(client, jira) -> RunDriver:
    """A pass far in the future also prunes the test's request key and permit: the IDE would get new ones."""
    jira.bootstrap()
    return RunDriver(client, jira.permit())


def test_a_settled_runs_data_is_kept_for_the_retention_and_then_removed(app, client, jira, runs, served, funded,
                                                                        credits_of, usage_of):
    run_id = runs.started()
    assert runs.wait(run_id)["status"] == "succeeded"
    assert len(objects(app, run_id)) == 3 and log_lines(app, run_id) == 4
    charged, finished = usage_of(run_id), run_row(app, run_id).finished_at
    assert prune(app, finished + timedelta(days=30, seconds=-1)).rows["run_data"] == 0
    assert fresh_driver(client, jira).output(run_id).status_code == 200
    moment = finished + timedelta(days=30)
    pruned = prune(app, moment)
    assert pruned.rows["run_data"] == 1 and pruned.rows["run_objects"] == 3
    assert objects(app, run_id) == {} and log_lines(app, run_id) == 0
    assert run_row(app, run_id).data_removed_at == moment
    # The run's status, charge and usage stay; its artifacts answer 410 with a stable code.
    later = fresh_driver(client, jira)
    status = later.status(run_id).get_json()["status"]
    assert status["status"] == "succeeded" and "resultZipUrl" not in status
    body = assert_envelope(later.output(run_id), 410, "run_data_removed")
    assert "removed 30 days after it settled" in body["detail"]
    assert_envelope(later.logs(run_id), 410, "run_data_removed")
    assert usage_of(run_id) == charged and credits_of(funded) < 1000
    assert prune(app, moment).rows["run_data"] == 0  # once


def test_a_failed_runs_inputs_and_log_are_removed_after_the_retention(app, runs, served, funded, add_model,
                                                                      fake_openai):
    model = add_model("fake fail", config=fake_openai.config("fail", maxRetries=0))
    run_id = runs.started(model=model)
    assert runs.wait(run_id)["status"] == "failed"
    assert keys.input_key(run_id, "list.md") in objects(app, run_id) and log_lines(app, run_id) > 0
    pruned = prune(app, run_row(app, run_id).finished_at + timedelta(days=30))
    assert pruned.rows["run_data"] == 1 and pruned.rows["run_objects"] == 1
    assert objects(app, run_id) == {} and log_lines(app, run_id) == 0


def test_the_retention_is_configurable(app, runs, served, funded):
    app.config["SEECODES_RUN_DATA_RETENTION_DAYS"] = 2
    run_id = runs.started()
    assert runs.wait(run_id)["status"] == "succeeded"
    finished = run_row(app, run_id).finished_at
    assert prune(app, finished + timedelta(days=2, seconds=-1)).rows["run_data"] == 0
    assert prune(app, finished + timedelta(days=2)).rows["run_data"] == 1


def test_a_store_still_down_at_the_retention_keeps_the_objects_and_retries(app, runs, served, funded,
                                                                            monkeypatch):
    run_id, _ = runs.prepared()
    clock.travel(timedelta(seconds=TTL))

    def down(self, prefix):
        raise Unavailable("Object storage is unavailable (test).", code="storage_unavailable")

    with monkeypatch.context() as patch:
        patch.setattr(type(storage.get(app)), "delete_prefix", down)
        assert prune(app).rows["expired_runs"] == 1  # expired all the same: it can never start
    assert runs.status(run_id).get_json()["status"]["status"] == "failed"
    assert keys.input_key(run_id, "list.md") in objects(app, run_id)
    with monkeypatch.context() as patch:
        patch.setattr(type(storage.get(app)), "delete_prefix", down)
        assert prune(app, clock.now() + timedelta(days=30)).rows["run_data"] == 0  # still down: kept, retried
    assert prune(app, clock.now() + timedelta(days=30)).rows["run_data"] == 1
    assert objects(app, run_id) == {}


def test_an_upload_to_a_settled_run_is_removed_with_its_data(app, runs, served, funded):
    run_id = runs.started()
    assert runs.wait(run_id)["status"] == "succeeded"
    with app.app_context():  # what a late PUT (on S3 the presigned URL may still be valid) leaves behind
        storage.get(app).write(keys.input_key(run_id, "late.md"), b"late", "text/markdown")
    assert prune(app, run_row(app, run_id).finished_at + timedelta(days=30)).rows["run_objects"] == 4
    with app.app_context():
        assert storage.get(app).head(keys.input_key(run_id, "late.md")) is None


def test_the_cli_prunes_run_data_and_says_what(app, runs, served, funded):
    runs.prepared()
    clock.travel(timedelta(seconds=TTL))
    result = app.test_cli_runner().invoke(args=["maintenance", "prune"])
    assert result.exit_code == 0, result.output
    assert "1 expired_runs" in result.output and "1 run_objects" in result.output


def test_the_scheduler_runs_the_lifetime_passes(app, runs, served, funded):
    from seecodes import scheduler

    run_id, _ = runs.prepared()
    clock.travel(timedelta(seconds=TTL))
    task = next(task for task in app.extensions[scheduler.TASKS_KEY] if task.name == "retention.prune")
    scheduler.Scheduler(app, [task]).run_task(task)
    assert runs.status(run_id).get_json()["status"]["status"] == "failed"


# --- the open-run cap -----------------------------------------------------------------------------------------

CAP = 3


@pytest.fixture
def capped(app):
    app.config["SEECODES_MAX_OPEN_RUNS"] = CAP


def test_init_refuses_past_the_open_run_cap_with_409(app, runs, funded, capped):
    for _ in range(CAP):
        assert runs.init().status_code == 200
    body = assert_envelope(runs.init(), 409, "too_many_open_runs")
    assert body["maxOpenRuns"] == CAP and "wait until unstarted runs expire (1 h after their init)" in body["detail"]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Run)).scalar_one() == CAP  # nothing half-made


def test_a_started_run_frees_its_place(app, runs, served, funded, capped):
    run_id, _ = runs.prepared()
    for _ in range(CAP - 1):
        runs.init()
    assert_envelope(runs.init(), 409, "too_many_open_runs")
    assert runs.start(run_id).status_code == 200
    assert runs.init().status_code == 200


def test_runs_past_their_ttl_no_longer_count_even_before_the_pass(app, runs, funded, capped):
    for _ in range(CAP):
        runs.init()
    clock.travel(timedelta(seconds=TTL))
    assert runs.init().status_code == 200


def test_the_cap_is_per_installation(app, client, signer, runs, funded, capped, grant):
    for _ in range(CAP):
        runs.init()
    other = JiraSession(client, signer, new_installation_id(), str(uuid.uuid4()), "557058:bob")
    assert RunDriver(client, other.permit()).init().status_code == 200


def test_an_unknown_model_at_the_cap_is_still_a_422(app, runs, funded, capped):
    for _ in range(CAP):
        runs.init()
    assert_envelope(runs.init({"model": "no such model"}), 422, "validation_failed")


@pytest.mark.backends("sqlite", "postgresql")
def test_concurrent_inits_never_pass_the_cap(app, served, permit, funded, capped):
    for round_number in range(2):
        results = race(THREADS, lambda i: requests.post(f"{served}/v1/tasks/init", json={"model": "strict light"},
                                                        headers=bearer(permit), timeout=60))
        expected = [200] * CAP + [409] * (THREADS - CAP) if round_number == 0 else [409] * THREADS
        assert raced_statuses(results) == expected, f"round {round_number}"
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Run)
                                  .where(Run.status == INITIALIZED)).scalar_one() == CAP
