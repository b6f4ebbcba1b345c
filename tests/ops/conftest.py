"""Fixtures of the operations tests: the run driver of tests/runs, and a metrics token."""
import pytest

from seecodes.runs import dispatch

from ..runs.conftest import RunDriver, fake_openai, served  # noqa: F401  (shared fixtures; moto_url and redis_db are root fixtures)

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def app_overrides():
    return {"SEECODES_METRICS_TOKEN": METRICS_TOKEN}


@pytest.fixture
def permit(jira):
    return jira.permit()


@pytest.fixture
def runs(client, permit, app):
    yield RunDriver(client, permit)
    dispatch.shutdown(app)


@pytest.fixture
def funded(grant, jira):
    jira.bootstrap()
    grant(jira.installation_id, 1000)
    return jira.installation_id


def scrape(client, token=METRICS_TOKEN):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
