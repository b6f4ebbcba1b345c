"""POST /v1/forge/events: Forge's installed, upgraded and uninstalled events; uninstall revokes everything."""
import pytest
from sqlalchemy import select

from seecodes import clock
from seecodes.audit.models import SecurityEvent
from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.installations import service as installations
from seecodes.installations.models import Installation
from seecodes.launch_codes.models import LaunchCode
from seecodes.permits.models import Permit
from seecodes.request_keys.models import RequestKey
from seecodes.runs import state
from seecodes.runs.models import FAILED, IN_PROCESS, INITIALIZED, QUEUED, SUCCEEDED, Run

from ..contract_examples import RUN_INIT_EXAMPLE
from ..helpers import assert_envelope, bearer
from .conftest import INSTALLED, UNINSTALLED, UPGRADED, exchange, with_key

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def test_uninstall_revokes_every_credential_kind_and_each_is_refused(client, forge_event, credentials, tenant,
                                                                     live_counts):
    assert live_counts(tenant["installation_id"]) == {"launch_codes": 1, "permits": 2, "request_keys": 1}
    answer = forge_event(UNINSTALLED)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json() == {
        "ok": True, "eventType": UNINSTALLED, "installationId": tenant["installation_id"], "status": "uninstalled",
        "changed": True, "revoked": {"launchCodes": 1, "permits": 2, "requestKeys": 1}, "settledRuns": 0}
    assert live_counts(tenant["installation_id"]) == {"launch_codes": 0, "permits": 0, "request_keys": 0}
    jira = credentials.jira
    body = assert_envelope(with_key(jira, "GET", "/v1/instances/me"), 403, "installation_uninstalled")
    assert body["installationStatus"] == "uninstalled"
    assert_envelope(client.post("/v1/jira/request-key", json={}, headers=jira.auth()), 403,
                    "installation_uninstalled")
    assert_envelope(exchange(client, credentials.launch_code), 403, "installation_uninstalled")
    for permit in (credentials.permit, credentials.launched_permit):
        assert_envelope(client.get("/v1/tasks/context", headers=bearer(permit)), 403, "installation_uninstalled")
        assert_envelope(client.post("/v1/tasks/init", json=RUN_INIT_EXAMPLE, headers=bearer(permit)), 403,
                        "installation_uninstalled")


def test_a_replayed_uninstall_changes_nothing(app, forge_event, credentials, tenant):
    assert forge_event(UNINSTALLED).status_code == 200

    def snapshot():
        with app.app_context():
            pk = installations.get_by_installation_id(tenant["installation_id"]).id
            return [
                tuple(db.session.execute(select(Installation.status, Installation.uninstalled_at,
                                                Installation.updated_at, Installation.credits)
                                         .where(Installation.id == pk)).one()),
                db.session.execute(select(Permit.id, Permit.revoked_at).where(Permit.installation_pk == pk)
                                   .order_by(Permit.id)).all(),
                db.session.execute(select(LaunchCode.id, LaunchCode.revoked_at, LaunchCode.consumed_at)
                                   .where(LaunchCode.installation_pk == pk).order_by(LaunchCode.id)).all(),
                db.session.execute(select(RequestKey.id, RequestKey.revoked_at, RequestKey.superseded_at)
                                   .where(RequestKey.installation_pk == pk).order_by(RequestKey.id)).all(),
                db.session.execute(select(SecurityEvent.id, SecurityEvent.kind).order_by(SecurityEvent.id)).all(),
                db.session.execute(select(UsageRow.id).order_by(UsageRow.id)).all(),
            ]

    before = snapshot()
    for _retry in range(2):
        replayed = forge_event(UNINSTALLED)
        assert replayed.status_code == 200
        assert replayed.get_json()["changed"] is False
        assert replayed.get_json()["revoked"] == {"launchCodes": 0, "permits": 0, "requestKeys": 0}
    assert snapshot() == before


def _debited_run(app, permit, client, price, status):
    """A run of the permit's task, queued and debited as a start does, then moved on to `status`."""
    answer = client.post("/v1/tasks/init", json=RUN_INIT_EXAMPLE, headers=bearer(permit))
    assert answer.status_code == 200, answer.get_json()
    run_id = answer.get_json()["runId"]
    if status == INITIALIZED:
        return run_id
    with app.app_context():
        run = db.session.get(Run, run_id)
        assert state.queue_debited(run_id, run.installation_pk, price, "queued: test", user_prompt=None,
                                   estimated_input_tokens=1, input_versions={})[:2] == (True, True)
        if status != QUEUED:
            assert state.move(run_id, QUEUED, IN_PROCESS, started_at=clock.now(), heartbeat_at=clock.now())
        if status == SUCCEEDED:
            assert state.move(run_id, "in_process", "processing_remote")
            assert state.move(run_id, "processing_remote", SUCCEEDED)
        db.session.commit()
    return run_id


def test_runs_in_flight_are_failed_and_refunded_exactly(app, client, forge_event, credentials, tenant, grant):
    grant(tenant["installation_id"], 100)
    permit = credentials.permit
    queued = _debited_run(app, permit, client, 11, QUEUED)
    running = _debited_run(app, permit, client, 13, "in_process")
    finished = _debited_run(app, permit, client, 17, SUCCEEDED)
    waiting = _debited_run(app, permit, client, 0, INITIALIZED)
    answer = forge_event(UNINSTALLED)
    assert answer.get_json()["settledRuns"] == 2
    assert forge_event(UNINSTALLED).get_json()["settledRuns"] == 0  # settled once
    with app.app_context():
        statuses = {run_id: db.session.get(Run, run_id).status for run_id in (queued, running, finished, waiting)}
        assert statuses == {queued: FAILED, running: FAILED, finished: SUCCEEDED, waiting: INITIALIZED}
        assert db.session.get(Run, queued).error == "the app was uninstalled from the Jira site"
        refunds = db.session.execute(select(UsageRow.run_id, UsageRow.credits).where(UsageRow.type == "refund")
                                     .order_by(UsageRow.credits)).all()
        assert [tuple(row) for row in refunds] == [(queued, 11), (running, 13)]
        # 100 granted, 41 debited, 24 refunded: only the run that finished before the uninstall is paid for.
        assert installations.get_by_installation_id(tenant["installation_id"]).credits == 100 - 17
        assert state.log_text(running).splitlines()[-1].endswith(
            "failed: the app was uninstalled from the Jira site; credits refunded")


def test_a_job_that_finishes_after_the_uninstall_finds_its_run_settled(app, client, forge_event, credentials):
    running = _debited_run(app, credentials.permit, client, 0, "in_process")
    forge_event(UNINSTALLED)
    with app.app_context():  # what the job's last transitions do: a conditional move that no longer matches
        assert state.move(running, "in_process", "processing_remote") is False
        db.session.rollback()


def test_reinstall_restores_access_with_new_credentials_only(client, forge_event, credentials, tenant, jira):
    forge_event(UNINSTALLED)
    answer = forge_event(INSTALLED, app={"id": "x", "version": "2.0.0"})
    assert answer.status_code == 200
    assert (answer.get_json()["status"], answer.get_json()["changed"]) == ("active", True)
    old_key = jira.key
    jira.bootstrap()  # a new chain
    me = jira.get("/v1/instances/me")
    assert me.status_code == 200 and me.get_json()["status"] == "active"
    assert jira.permit() and jira.launch()
    # What the uninstall revoked stays revoked.
    jira.key = old_key
    assert_envelope(with_key(jira, "GET", "/v1/instances/me"), 401, "request_key_revoked")
    assert_envelope(exchange(client, credentials.launch_code), 401, "launch_code_revoked")
    assert_envelope(client.get("/v1/tasks/context", headers=bearer(credentials.permit)), 401, "permit_revoked")
    assert forge_event(INSTALLED, app={"id": "x", "version": "2.0.0"}).get_json()["changed"] is False


def test_only_the_installed_event_reactivates(client, forge_event, jira):
    jira.bootstrap()
    forge_event(UNINSTALLED)
    for _call in range(2):  # a plain Forge call, even with a fresh token, stays refused
        assert_envelope(client.post("/v1/jira/request-key", json={}, headers=jira.auth()), 403,
                        "installation_uninstalled")
    assert forge_event(UPGRADED).status_code == 200
    assert_envelope(client.post("/v1/jira/request-key", json={}, headers=jira.auth()), 403,
                    "installation_uninstalled")


def test_installed_provisions_an_unknown_installation_with_starter_credits(app, forge_event, tenant, event_kinds):
    app.config["SEECODES_STARTER_CREDITS"] = 5
    answer = forge_event(INSTALLED)
    assert answer.status_code == 200
    assert (answer.get_json()["status"], answer.get_json()["changed"]) == ("active", True)
    with app.app_context():
        row = installations.get_by_installation_id(tenant["installation_id"])
        assert (row.credits, row.site_cloud_id, row.app_version) == (5, tenant["cloud_id"], "1.0.0")
    assert forge_event(INSTALLED).get_json()["changed"] is False
    assert event_kinds(tenant["installation_id"]) == ["installation_installed"]


def test_upgraded_records_the_version_once(app, forge_event, jira, tenant, event_kinds):
    jira.bootstrap()
    assert forge_event(UPGRADED, app={"id": "x", "version": "3.0.0"}).get_json()["changed"] is True
    assert forge_event(UPGRADED, app={"id": "x", "version": "3.0.0"}).get_json()["changed"] is False
    with app.app_context():
        assert installations.get_by_installation_id(tenant["installation_id"]).app_version == "3.0.0"
    assert event_kinds(tenant["installation_id"]) == ["installation_upgraded"]


def test_an_uninstall_of_an_unknown_installation_makes_up_no_tenant(app, forge_event, tenant):
    answer = forge_event(UNINSTALLED)
    assert answer.status_code == 200 and answer.get_json()["status"] == "unknown"
    with app.app_context():
        assert installations.get_by_installation_id(tenant["installation_id"]) is None


def test_an_uninstall_leaves_other_tenants_alone(client, forge_event, credentials, other_jira):
    other_permit = other_jira.permit()
    assert forge_event(UNINSTALLED).get_json()["revoked"] == {"launchCodes": 1, "permits": 2, "requestKeys": 1}
    assert client.get("/v1/tasks/context", headers=bearer(other_permit)).status_code in (200, 404)
    assert other_jira.get("/v1/instances/me").status_code == 200


def test_an_event_needs_a_forge_token(client):
    assert_envelope(client.post("/v1/forge/events", json={"eventType": UNINSTALLED}), 401, "credential_missing")


def test_an_event_of_another_type_is_refused(forge_event):
    body = assert_envelope(forge_event("avi:jira:created:issue"), 422, "validation_failed")
    assert "eventType" in body["errors"]


def test_an_event_whose_site_contradicts_the_installation_is_refused(forge_event, jira, app, tenant):
    jira.bootstrap()
    answer = forge_event(UNINSTALLED, context="ari:cloud:jira::site/00000000-0000-0000-0000-000000000000")
    assert_envelope(answer, 403, "tenant_mismatch")
    with app.app_context():
        assert installations.get_by_installation_id(tenant["installation_id"]).status == "active"


def test_a_users_token_cannot_deliver_an_event(client, signer, jira, tenant, app):
    jira.bootstrap()
    token = signer.token(tenant["installation_id"], tenant["cloud_id"], tenant["principal"])
    answer = client.post("/v1/forge/events", json={"eventType": UNINSTALLED},
                         headers={"Authorization": f"Bearer {token}"})
    assert_envelope(answer, 403, "forge_event_token_required")
    with app.app_context():
        assert installations.get_by_installation_id(tenant["installation_id"]).status == "active"
