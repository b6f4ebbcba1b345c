"""Retention settings are validated, and no setting lets pruning break the replay-revokes-permit rule."""
from datetime import timedelta

import pytest

from seecodes import clock, create_app, doctor, retention, settings
from seecodes.extensions import db

from ..helpers import bearer


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("name", ["SEECODES_CREDENTIAL_RETENTION_DAYS", "SEECODES_SECURITY_EVENT_RETENTION_DAYS"])
@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "100000"])
def test_a_nonsensical_retention_setting_refuses_to_start(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv("SEECODES_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv(name, value)
    with pytest.raises(settings.ConfigError, match=name):
        create_app()


@pytest.mark.backends("sqlite")
def test_zero_and_plain_days_are_accepted(monkeypatch, tmp_path):
    monkeypatch.setenv("SEECODES_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("SEECODES_CREDENTIAL_RETENTION_DAYS", "0")
    monkeypatch.setenv("SEECODES_SECURITY_EVENT_RETENTION_DAYS", " 30 ")
    app = create_app()
    assert retention.retention_days("SEECODES_CREDENTIAL_RETENTION_DAYS", app) == 0
    assert retention.retention_days("SEECODES_SECURITY_EVENT_RETENTION_DAYS", app) == 30


def test_doctor_reports_a_negative_retention(app):
    app.config["SEECODES_CREDENTIAL_RETENTION_DAYS"] = -1  # past create_app's own refusal
    rows = {result.name: result for result in doctor.run_checks(app)}
    assert rows["settings"].status == doctor.FAIL
    assert "SEECODES_CREDENTIAL_RETENTION_DAYS" in rows["settings"].detail + rows["settings"].fix


def test_doctor_passes_the_default_retention(app):
    rows = {result.name: result for result in doctor.run_checks(app)}
    assert rows["settings"].status == doctor.PASS


def test_a_negative_retention_prunes_nothing_live(app, client, jira):
    permit = jira.launch()
    app.config["SEECODES_CREDENTIAL_RETENTION_DAYS"] = -1  # past create_app's own refusal
    with app.app_context():
        with pytest.raises(settings.ConfigError):
            retention.prune()
        db.session.remove()
    assert client.get("/v1/tasks/context", headers=bearer(permit)).status_code == 200


@pytest.mark.parametrize("app_overrides", [{"SEECODES_CREDENTIAL_RETENTION_DAYS": 0}])
def test_a_used_code_whose_permit_lives_is_kept_so_a_replay_still_revokes(app, client, jira):
    """The code expires after a day; its permit, minted late in that day, lives 24 hours from then."""
    link = jira.post("/v1/security/vscode-link", json={"projectId": "AUTH", "taskId": "AUTH-128",
                                                       "userAccountId": jira.principal, "expirationDays": 1})
    code = link.get_json()["launchCode"]
    clock.travel(timedelta(hours=23))
    exchange = {"code": code, "projectId": "AUTH", "taskId": "AUTH-128"}
    permit = client.post("/v1/security/launch-exchange", json=exchange).get_json()["permit"]
    clock.travel(timedelta(hours=2))  # the code has expired; its permit has 22 hours left
    with app.app_context():
        retention.prune()
        db.session.remove()
    assert client.get("/v1/tasks/context", headers=bearer(permit)).status_code in (200, 404)
    replay = client.post("/v1/security/launch-exchange", json=exchange)
    assert replay.status_code == 401 and replay.get_json()["error"] == "launch_code_replayed"
    assert client.get("/v1/tasks/context", headers=bearer(permit)).status_code == 401


@pytest.mark.parametrize("app_overrides", [{"SEECODES_CREDENTIAL_RETENTION_DAYS": 0}])
def test_a_used_code_is_pruned_once_its_permit_has_expired(app, client, jira):
    from sqlalchemy import func, select

    from seecodes.launch_codes.models import LaunchCode

    jira.launch(expirationDays=1)
    clock.travel(timedelta(days=1, minutes=1))
    with app.app_context():
        retention.prune()
        left = db.session.execute(select(func.count()).select_from(LaunchCode)).scalar_one()
        db.session.remove()
    assert left == 0
