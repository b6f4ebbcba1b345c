"""Fixtures of the analytics tests: the contract's example payloads, permits, a second tenant, time travel."""
import uuid
from datetime import datetime

import pytest

from seecodes import clock
from seecodes.extensions import db
from seecodes.installations import service as installations

from ..conftest import new_installation_id
from ..helpers import JiraSession, bearer

PROGRESS_EXAMPLE = {
    "ready": ["Protected-route wrapper is live"],
    "left": ["Callback validation still needs coverage"],
    "progress": "67%",
    "confidence": "Medium",
    "risks": ["Identity provider payload may still change"],
    "logs": ["Recent activity summary line"],
}

SNAPSHOT_EXAMPLE = {
    "windowStartedAt": "2026-04-04T10:00:00.000Z",
    "windowEndedAt": "2026-04-04T10:15:00.000Z",
    "taskStartedAt": "2026-04-04T08:30:00.000Z",
    "taskAgeMinutes": 105,
    "humanActiveMs": 420000,
    "locAdded": 28,
    "locRemoved": 11,
    "locTotal": 39,
    "changedFiles": ["src/auth.ts", "src/routes.tsx"],
    "changedFilesCount": 2,
    "architectureChange": False,
    "logicChange": True,
    "specificationUiChange": False,
}
# Formula v1 on the example: 1.8*7 + 0.18*39 + 3*2 + 14 = 39.62 -> 40 (the contract's 91 is illustrative).
SNAPSHOT_EXAMPLE_EFFORT = 40

EXAMPLE_HASH = "a" * 64
UPSERT_EXAMPLE = {
    "entries": {
        "src/auth.ts": {
            "hash": EXAMPLE_HASH,
            "updatedAt": 1710000000000,
            "short": "Authentication helper",
            "detailed": "Longer explainer...",
            "important_symbols": ["AuthGuard"],
            "dependencies": ["src/session.ts"],
            "exports": ["AuthGuard"],
        }
    },
    "deletePaths": ["src/old-auth.ts"],
}
QUERY_EXAMPLE = {"items": [{"path": "src/auth.ts", "hash": EXAMPLE_HASH}]}
INSTANCE_METRICS_EXAMPLE = {"installedUsersCount": 17, "source": "forge-hourly-sync"}
TELEMETRY_EXAMPLE = {
    "events": [{"eventType": "ai.usage", "cloudId": "ari:cloud:ecosystem::installation/...",
                "requestId": "1f0d7e2e-...", "timestamp": "2026-04-04T12:34:56Z"}]
}
TELEMETRY_DETAIL = ("Direct VS Code telemetry ingestion is disabled until an authenticated sender contract with "
                    "replay protection and rate limits is finalized.")
CONTRACT_WEIGHTS = {"activeMinute": 1.8, "locChanged": 0.18, "changedFile": 3, "architectureBonus": 24,
                    "logicBonus": 14, "specificationUiBonus": 10}


@pytest.fixture
def permit(jira):
    """A task permit for AUTH / AUTH-128 of the default tenant."""
    return jira.permit()


@pytest.fixture
def auth(permit):
    return bearer(permit)


@pytest.fixture
def other_jira(client, signer):
    """The Jira app of another tenant."""
    return JiraSession(client, signer, new_installation_id(), str(uuid.uuid4()), "557058:mallory")


@pytest.fixture
def installation_pk(app, jira):
    """The default tenant's primary key (provisions it first)."""
    jira.bootstrap()
    with app.app_context():
        return installations.get_by_installation_id(jira.installation_id).id


@pytest.fixture
def in_app(app):
    """Run a function inside the app with a committed session."""

    def run(function, *args, **kwargs):
        with app.app_context():
            result = function(*args, **kwargs)
            db.session.commit()
            return result

    return run


def travel_to(moment: datetime) -> None:
    clock.travel(moment - clock.now())


@pytest.fixture
def mid_april(app):
    """Now is 2026-04-15 12:00 UTC (the app fixture resets the clock afterwards)."""
    travel_to(datetime(2026, 4, 15, 12, 0))
