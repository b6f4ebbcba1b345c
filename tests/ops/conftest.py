"""Fixtures of the operations tests: the run driver of tests/runs, and a metrics token."""
import pytest

from ..runs.conftest import fake_openai, runs, served  # noqa: F401  (shared fixtures)

METRICS_TOKEN = "metrics-token-for-tests-0123456789"


@pytest.fixture
def app_overrides():
    return {"SEECODES_METRICS_TOKEN": METRICS_TOKEN}


@pytest.fixture
def funded(grant, jira):
    jira.bootstrap()
    grant(jira.installation_id, 1000)
    return jira.installation_id


def scrape(client, token=METRICS_TOKEN):
    return client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
