"""The credential hot paths: one statement per read, no commit for reads, the count kept on the installation
row, and the guarantees they must keep (refusals consume nothing, the token's news is still recorded)."""
import threading
from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, text

from seecodes import clock
from seecodes.extensions import db
from seecodes.installations import service as installations
from seecodes.installations.models import Installation
from seecodes.metrics import service as metrics
from seecodes.resources.instances.schemas import InstanceSchema
from seecodes.resources.tasks.schemas_runs import RunStatusAnswerSchema

from ..helpers import sql_log
from .conftest import assert_envelope


def bearer(permit):
    return {"Authorization": f"Bearer {permit}"}


@pytest.fixture
def run_id(client, permit):
    response = client.post("/v1/tasks/init", json={"model": "strict light"}, headers=bearer(permit))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["runId"]


def _suspend(tenant):
    installations.get_by_installation_id(tenant["installation_id"]).status = "suspended"
    db.session.commit()


def _reactivate(tenant):
    installations.get_by_installation_id(tenant["installation_id"]).status = "active"
    db.session.commit()


# --- GET /v1/tasks/{runId}: one SELECT, no commit -------------------------------------------------------

@pytest.mark.parametrize("suffix, status, selects", [("", 200, 1), ("/output", 409, 1), ("/logs", 200, 2)])
def test_run_reads_are_selects_without_a_commit(app, client, permit, run_id, suffix, status, selects):
    """Status and output: the permit check and the run in one SELECT; logs: then the log lines."""
    with sql_log(app) as seen:
        response = client.get(f"/v1/tasks/{run_id}{suffix}", headers=bearer(permit))
    assert response.status_code == status
    assert len(seen["statements"]) == selects
    assert all(statement.lstrip().upper().startswith("SELECT") for statement in seen["statements"])
    assert seen["commits"] == 0


def test_an_upload_checks_its_run_with_one_select_and_no_commit(app, client, permit):
    init = client.post("/v1/tasks/init", json={"model": "strict light"}, headers=bearer(permit)).get_json()
    url = init["uploads"]["list.md"]
    with sql_log(app) as seen:
        response = client.put(url[url.index("/storage/"):], data=b"# list\n")
    assert response.status_code == 200
    assert len(seen["statements"]) == 1 and seen["commits"] == 0


@contextmanager
def orm_flushes(app):
    """ORM unit-of-work flushes while the block runs (each builds and sorts the session's pending objects)."""
    from sqlalchemy.orm import Session

    flushes, this_thread = [], threading.get_ident()  # as sql_log: only this thread's

    def on_flush(session, _context, _instances):
        if threading.get_ident() == this_thread:
            flushes.append([type(obj).__name__ for obj in session.new] + [type(obj).__name__ for obj in session.dirty])

    event.listen(Session, "before_flush", on_flush)
    try:
        yield flushes
    finally:
        event.remove(Session, "before_flush", on_flush)


def test_init_and_start_write_with_statements_not_the_orm_unit_of_work(app, client, permit, tenant, grant):
    """The two writes of every run write their rows with Core statements (issue 12: the ORM's flush of a new
    Run and a new UsageRow was a third of their CPU); the answers are as before."""
    grant(tenant["installation_id"], 1000)
    with orm_flushes(app) as flushes:
        init = client.post("/v1/tasks/init", json={"model": "strict light", "files": ["list.md"]},
                           headers=bearer(permit))
    assert init.status_code == 200, init.get_json()
    assert flushes == []
    url = init.get_json()["uploads"]["list.md"]
    assert client.put(url[url.index("/storage/"):], data=b"# list\n- [ ] one\n").status_code == 200
    run_id = init.get_json()["runId"]
    with orm_flushes(app) as flushes:
        started = client.post(f"/v1/tasks/{run_id}/start", json={"userPrompt": "go"}, headers=bearer(permit))
    assert started.status_code == 200, started.get_json()
    assert flushes == []
    assert jira_credits(app, tenant) == 1000 - started.get_json()["estimatedCredits"]


def test_a_start_on_postgresql_queues_debits_and_logs_in_one_statement(app, backend, client, permit, tenant, grant):
    """After the permit and the run are read: the status change, the debit, its usage row and the log line are
    one statement on PostgreSQL (a data-modifying CTE), not four; on SQLite, the four."""
    grant(tenant["installation_id"], 1000)
    init = client.post("/v1/tasks/init", json={"model": "strict light"}, headers=bearer(permit)).get_json()
    url = init["uploads"]["list.md"]
    assert client.put(url[url.index("/storage/"):], data=b"# list\n").status_code == 200
    with sql_log(app) as seen:
        started = client.post(f"/v1/tasks/{init['runId']}/start", json={"userPrompt": "go"}, headers=bearer(permit))
    assert started.status_code == 200, started.get_json()
    assert len(seen["statements"]) == (3 if backend == "postgresql" else 6), seen["statements"]
    assert seen["commits"] == 1


def test_init_checks_the_model_and_inserts_the_run_in_one_statement(app, backend, client, permit):
    """After the permit is read: the model's check, the open-run cap and the run's insert are one INSERT …
    SELECT (on PostgreSQL after the installation's row lock that makes concurrent inits count each other's
    runs: docs/runs.md, Run data lifetime); an unknown or disabled model inserts nothing and is the same 422."""
    with sql_log(app) as seen:
        init = client.post("/v1/tasks/init", json={"model": "strict light"}, headers=bearer(permit))
    assert init.status_code == 200, init.get_json()
    assert len(seen["statements"]) == (3 if backend == "postgresql" else 2), seen["statements"]
    assert seen["commits"] == 1
    unknown = client.post("/v1/tasks/init", json={"model": "no such model"}, headers=bearer(permit))
    assert_envelope(unknown, 422, "validation_failed")
    assert unknown.get_json()["errors"] == {"model": ["Unknown model 'no such model'."]}


def jira_credits(app, tenant) -> int:
    with app.app_context():
        return installations.get_by_installation_id(tenant["installation_id"]).credits


def test_run_status_answer_is_what_its_schema_documents(client, permit, run_id):
    answer = client.get(f"/v1/tasks/{run_id}", headers=bearer(permit)).get_json()
    assert answer == RunStatusAnswerSchema().dump(answer)
    assert set(answer["status"]) == {"status", "updatedAt"}
    assert answer["status"]["status"] == "initialized"


def test_run_status_still_refuses_a_revoked_permit_before_looking_at_the_run(app, client, permit, in_app):
    from seecodes.permits import service as permits

    def revoke():
        permits.revoke(permits.decode(permit)["pid"])
        db.session.commit()

    in_app(revoke)
    assert_envelope(client.get("/v1/tasks/run_000000000000000000000000", headers=bearer(permit)), 401,
                    "permit_revoked")


@pytest.mark.parametrize("suffix", ["", "/output", "/logs"])
def test_run_reads_of_an_unknown_run_are_404_and_of_another_task_403(client, jira, permit, run_id, suffix):
    assert_envelope(client.get(f"/v1/tasks/run_000000000000000000000000{suffix}", headers=bearer(permit)), 404,
                    "run_not_found")
    # A malformed id matches no route (the runId converter): a plain 404 in the envelope.
    assert_envelope(client.get(f"/v1/tasks/not-a-run-id{suffix}", headers=bearer(permit)), 404, "not_found")
    other_task = jira.permit("AUTH", "AUTH-129")
    assert_envelope(client.get(f"/v1/tasks/{run_id}{suffix}", headers=bearer(other_task)), 403,
                    "permit_binding_mismatch")


def test_run_status_of_an_inactive_installation_is_refused(client, permit, run_id, tenant, in_app):
    in_app(_suspend, tenant)
    assert_envelope(client.get(f"/v1/tasks/{run_id}", headers=bearer(permit)), 401, "installation_inactive")


def test_a_read_only_request_refuses_to_write(app):
    from seecodes import readonly

    with app.app_context(), readonly.connection() as connection:
        with pytest.raises(readonly.WriteInReadOnlyRequest):
            connection.execute(text("UPDATE installations SET credits = credits + 1"))


def test_a_read_only_request_leaves_the_pooled_connection_transactional(app, client, permit, run_id, jira):
    """The next request on the same pooled connection still commits and rolls back as a unit."""
    assert client.get(f"/v1/tasks/{run_id}", headers=bearer(permit)).status_code == 200
    with app.app_context():
        db.session.execute(text("UPDATE installations SET credits = 7"))
        db.session.rollback()
        assert db.session.execute(select(Installation.credits)).scalar_one() == 0
    assert jira.get("/v1/instances/me").get_json()["credits"] == 0


# --- GET /v1/instances/me: the key statement answers the installation ------------------------------------

def test_instances_me_answer_is_what_its_schema_documents(jira):
    jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": 3})
    answer = jira.get("/v1/instances/me").get_json()
    assert answer == InstanceSchema().dump(answer)
    assert answer["installedUsersCount"] == 3


def test_instances_me_reads_no_instance_metrics(app, jira):
    jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": 3})
    with sql_log(app) as seen:
        assert jira.get("/v1/instances/me").status_code == 200
    assert not [s for s in seen["statements"] if "instance_metrics" in s]
    assert seen["commits"] == 1


def test_the_latest_count_is_kept_on_the_installation_row(app, jira, tenant):
    jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": 3})
    jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": 5})
    with app.app_context():
        installation = installations.get_by_installation_id(tenant["installation_id"])
        assert installation.installed_users_count == 5
        assert metrics.latest_installed_users_count(installation.id) == 5


def test_an_older_report_committing_late_does_not_replace_a_newer_count(app, jira, tenant):
    jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": 5})
    with app.app_context():
        installation_pk = installations.get_by_installation_id(tenant["installation_id"]).id
        clock.travel(_minutes(-5))  # a report stamped before the one already kept
        metrics.record(installation_pk, 2, None)
        db.session.commit()
        clock.reset()
        assert metrics.latest_installed_users_count(installation_pk) == 5
    assert jira.get("/v1/instances/me").get_json()["installedUsersCount"] == 5


def _minutes(n):
    from datetime import timedelta

    return timedelta(minutes=n)


def test_a_report_does_not_change_the_installation_updated_at(jira):
    before = jira.get("/v1/instances/me").get_json()["updatedAt"]
    clock.travel(_minutes(2))
    try:
        jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": 3})
        assert jira.get("/v1/instances/me").get_json()["updatedAt"] == before
    finally:
        clock.reset()


def test_an_inactive_installation_consumes_no_request_key(jira, tenant, in_app):
    jira.bootstrap()
    key = jira.key
    in_app(_suspend, tenant)
    assert_envelope(jira.get("/v1/instances/me"), 403, "installation_inactive")
    in_app(_reactivate, tenant)
    jira.key = key
    assert jira.get("/v1/instances/me").status_code == 200


def test_a_token_that_teaches_a_license_is_recorded_and_the_key_still_rotates(client, signer, jira, tenant):
    jira.bootstrap()
    token = signer.token(tenant["installation_id"], tenant["cloud_id"], tenant["principal"], license_active=True,
                         environment="PRODUCTION")
    response = client.get("/v1/instances/me", headers={"Authorization": f"Bearer {token}",
                                                        "X-SeeCodes-Jira-Request-Key": jira.key})
    assert response.status_code == 200
    assert response.get_json()["licenseActive"] is True
    assert response.get_json()["activationSource"] == "forge-license"
    jira.key = response.headers["X-SeeCodes-Next-Request-Key"]
    assert jira.get("/v1/instances/me").status_code == 200  # the plain token: the license is learned again


def test_a_replayed_key_is_still_refused_as_replayed(jira):
    jira.bootstrap()
    key = jira.key
    assert jira.get("/v1/instances/me").status_code == 200
    jira.key = key
    assert_envelope(jira.get("/v1/instances/me"), 401, "request_key_replayed")


def test_a_failed_route_after_the_key_statement_consumes_nothing(jira):
    jira.bootstrap()
    key = jira.key
    assert jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": -1}).status_code == 422
    jira.key = key
    assert jira.get("/v1/instances/me").status_code == 200


# --- pooled connections without a per-request ping --------------------------------------------------------

def test_a_pooled_connection_closed_by_the_server_is_replaced_without_an_error(app, backend, jira):
    if backend != "postgresql":
        pytest.skip("SQLite files do not close connections")
    assert jira.get("/v1/instances/me").status_code == 200
    from sqlalchemy import create_engine

    admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        terminated = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )).scalar_one()
    admin.dispose()
    assert terminated >= 1
    import time

    time.sleep(0.2)  # the server's termination notice reaches the pooled socket
    assert jira.get("/v1/instances/me").status_code == 200
