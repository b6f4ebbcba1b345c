"""Fixtures of the analytics tests: permits, the tenant's primary key, time travel."""
from datetime import datetime

import pytest

from seecodes import clock
from seecodes.installations import service as installations

from ..contract_examples import (  # noqa: F401 (re-exported: tests of this folder import them from here)
    PROGRESS_EXAMPLE,
    SNAPSHOT_EXAMPLE,
    SNAPSHOT_EXAMPLE_EFFORT,
    EXAMPLE_HASH,
    UPSERT_EXAMPLE,
    QUERY_EXAMPLE,
    INSTANCE_METRICS_EXAMPLE,
    TELEMETRY_EXAMPLE,
    TELEMETRY_DETAIL,
    CONTRACT_WEIGHTS,
)


@pytest.fixture
def installation_pk(app, jira):
    """The default tenant's primary key (provisions it first)."""
    jira.bootstrap()
    with app.app_context():
        return installations.get_by_installation_id(jira.installation_id).id


def travel_to(moment: datetime) -> None:
    clock.travel(moment - clock.now())


@pytest.fixture
def mid_april(app):
    """Now is 2026-04-15 12:00 UTC (the app fixture resets the clock afterwards)."""
    travel_to(datetime(2026, 4, 15, 12, 0))
