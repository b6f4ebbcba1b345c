"""Retention: spent credentials and old security events are pruned; live ones never; tables stay bounded."""
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from seecodes import clock, retention
from seecodes.audit.models import SecurityEvent
from seecodes.extensions import db
from seecodes.launch_codes.models import LaunchCode
from seecodes.permits.models import Permit
from seecodes.request_keys.models import RequestKey

from ..helpers import REQUEST_KEY

TABLES = {"request_keys": RequestKey, "launch_codes": LaunchCode, "permits": Permit,
          "security_events": SecurityEvent}


@pytest.fixture
def app_overrides():
    return {"SEECODES_CREDENTIAL_RETENTION_DAYS": 1, "SEECODES_SECURITY_EVENT_RETENTION_DAYS": 1}


def counts(app) -> dict:
    with app.app_context():
        found = {name: db.session.execute(select(func.count()).select_from(model)).scalar_one()
                 for name, model in TABLES.items()}
        db.session.remove()
        return found


def prune(app, now=None):
    with app.app_context():
        try:
            return retention.prune(now)
        finally:
            db.session.remove()


def churn(jira, client):
    """A busy hour of one user: a fresh chain, rotations, a launch, a replayed key."""
    jira.bootstrap()
    jira.launch(expirationDays=1)
    stale = jira.key
    for _ in range(3):
        assert jira.get("/v1/instances/me").status_code == 200
    assert client.get("/v1/instances/me", headers={**jira.auth(), REQUEST_KEY: stale}).status_code == 401


def test_tables_stay_bounded_under_churn(app, client, jira):
    sizes = []
    for _hour in range(0, 96, 4):
        churn(jira, client)
        clock.travel(timedelta(hours=4))
        prune(app)
        sizes.append(counts(app))
    # launch codes live a day and are kept a day more: after twelve 4-hour steps no table grows any more
    steady = sizes[13:]
    for name in TABLES:
        assert max(size[name] for size in steady) == min(size[name] for size in steady), (name, sizes)
    assert steady[-1]["request_keys"] <= 7 * 5 and steady[-1]["security_events"] <= 7 and len(sizes) == 24


def test_live_credentials_survive_pruning(app, client, jira):
    permit = jira.launch()
    clock.travel(timedelta(days=30))  # far past every retention period, but the chain's key is renewed below
    jira.bootstrap()
    pruned = prune(app)
    assert pruned.rows["request_keys"] >= 1 and pruned.rows["launch_codes"] == 1 and pruned.rows["permits"] == 1
    assert jira.get("/v1/instances/me").status_code == 200
    clock.reset()
    response = client.get("/v1/tasks/context", headers={"Authorization": f"Bearer {permit}"})
    assert response.status_code == 401  # its row is gone: the permit is refused, never trusted


def test_spent_credentials_are_kept_for_the_retention_period(app, client, jira):
    churn(jira, client)
    before = counts(app)
    clock.travel(timedelta(hours=23))
    assert prune(app).total == 0
    assert counts(app) == before


def test_prune_takes_the_moment_to_prune_at(app, client, jira):
    churn(jira, client)
    assert prune(app, clock.now() + timedelta(days=2)).rows["security_events"] == 1


def test_the_cli_prunes_and_says_what(app, client, jira):
    churn(jira, client)
    clock.travel(timedelta(days=3))
    result = app.test_cli_runner().invoke(args=["maintenance", "prune"])
    assert result.exit_code == 0, result.output
    assert "pruned" in result.output and "security_events" in result.output
    assert counts(app)["security_events"] == 0


def test_the_scheduler_prunes_in_every_live_process(app, client, jira):
    """Pruning is one of the periodic maintenance tasks: a scheduler pass removes spent credentials."""
    from seecodes import scheduler

    churn(jira, client)
    clock.travel(timedelta(days=3))
    task = next(task for task in app.extensions[scheduler.TASKS_KEY] if task.name == "retention.prune")
    assert task.interval(app) == 3600
    scheduler.Scheduler(app, [task]).run_task(task)
    assert counts(app)["request_keys"] == 0
