"""Fixtures of the security tests: the contract's example payloads, a second tenant, parallel HTTP, events."""
import uuid

import pytest
from sqlalchemy import select

from seecodes.audit.models import SecurityEvent
from seecodes.extensions import db

from ..conftest import new_installation_id
from ..helpers import REQUEST_KEY, JiraSession, assert_envelope, race  # noqa: F401 (re-exported for the tests)

# The contract's example payloads, verbatim. Placeholders ("557058:abcd...", "optional") are filled per
# tenant by for_tenant(); the answers are compared by shape (every field, with the example's type).
REQUEST_KEY_BODY_EXAMPLE = {}
REQUEST_KEY_EXAMPLE = {"ok": True, "requestKey": "sc_jira_req_...", "expiresAt": 1735689600}
INSTANCE_EXAMPLE = {
    "ok": True,
    "cloudId": "ari:cloud:ecosystem::installation/...",
    "status": "active",
    "credits": 42,
    "apiKeyPrefix": "av_inst_...",
    "updatedAt": 1710000000,
    "installationId": "ari:cloud:ecosystem::installation/...",
    "capabilitySet": "capabilityadvanced",
    "licenseActive": True,
    "activationSource": "forge-license",
    "devModeActive": False,
    "billingMode": "forge",
    "siteUrl": "https://tenant.atlassian.net",
}
VSCODE_LINK_BODY_EXAMPLE = {
    "projectId": "AUTH",
    "taskId": "AUTH-128",
    "userAccountId": "557058:abcd...",
    "cloudIdHint": "optional",
    "siteUrlHint": "https://tenant.atlassian.net",
    "expirationDays": 14,
    "jiraContext": {"...": "optional task context"},
    "initialTaiDoc": {"...": "optional editor boot state"},
}
VSCODE_LINK_EXAMPLE = {
    "ok": True,
    "launchCode": "sc_launch_...",
    "vscodeUrl": "vscode://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-128?code=sc_launch_...",
    "httpsUrl": "https://dev.seecodes.com/v1/launch?p=AUTH&t=AUTH-128&c=sc_launch_...",
    "expiresAt": 1735689600,
}
TASK_PERMIT_BODY_EXAMPLE = {
    "projectId": "AUTH",
    "taskId": "AUTH-128",
    "userAccountId": "557058:abcd...",
    "cloudIdHint": "optional",
    "siteUrlHint": "https://tenant.atlassian.net",
}
PERMIT_EXAMPLE = {
    "ok": True,
    "cloudId": "ari:cloud:ecosystem::installation/...",
    "projectId": "AUTH",
    "taskId": "AUTH-128",
    "permit": "eyJhbGciOi...",
    "expiresAt": 1735689600,
}
LAUNCH_EXCHANGE_BODY_EXAMPLE = {"code": "sc_launch_...", "projectId": "AUTH", "taskId": "AUTH-128"}
CONTEXT_EXAMPLE = {
    "ok": True,
    "context": {"title": "Implement auth flow", "descriptionMd": "...", "attachments": [], "images": []},
    "initialTai": {"version": 1, "task": {"...": "..."}},
}
CONTEXT_NOT_FOUND = {"ok": False, "error": "Context not found"}
HEALTH_EXAMPLE = {"ok": True}
MODELS_EXAMPLE = {
    "ok": True,
    "models": [
        {
            "id": "strict light",
            "name": "strict light",
            "maxContext": 100000,
            "description": "Fast, high-context strict tasks",
            "pricing": {"base": 12.5, "per_token": 0.0006},
        }
    ],
}
# Bodies of the permit routes (the contract's examples) for the table-driven permit tests.
PERMIT_ROUTE_BODIES = {
    "/v1/tasks/<string:taskId>/progress": {
        "ready": ["Protected-route wrapper is live"], "left": ["Callback validation still needs coverage"],
        "progress": "67%", "confidence": "Medium", "risks": ["Identity provider payload may still change"],
        "logs": ["Recent activity summary line"],
    },
    "/v1/tasks/init": {"model": "strict light", "files": ["list.md"]},
    "/v1/tasks/<string:runId>/start": {"model": "strict light", "userPrompt": "generate change log"},
    "/v1/tasks/activity-snapshot": {
        "windowStartedAt": "2026-04-04T10:00:00.000Z", "windowEndedAt": "2026-04-04T10:15:00.000Z",
        "taskStartedAt": "2026-04-04T08:30:00.000Z", "taskAgeMinutes": 105, "humanActiveMs": 420000,
        "locAdded": 28, "locRemoved": 11, "locTotal": 39, "changedFiles": ["src/auth.ts", "src/routes.tsx"],
        "changedFilesCount": 2, "architectureChange": False, "logicChange": True, "specificationUiChange": False,
    },
    "/v1/projects/<string:projectId>/indexes/query": {"items": [{"path": "src/auth.ts", "hash": "a" * 64}]},
    "/v1/projects/<string:projectId>/indexes/upsert": {
        "entries": {"src/auth.ts": {"hash": "a" * 64, "updatedAt": 1710000000000, "short": "Authentication helper",
                                    "detailed": "Longer explainer...", "important_symbols": ["AuthGuard"],
                                    "dependencies": ["src/session.ts"], "exports": ["AuthGuard"]}},
        "deletePaths": ["src/old-auth.ts"],
    },
}

# The 24 route-methods of the contract.
CONTRACT_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("POST", "/v1/jira/request-key"),
    ("GET", "/v1/instances/me"),
    ("POST", "/v1/security/vscode-link"),
    ("POST", "/v1/security/task-permit"),
    ("POST", "/v1/security/launch-exchange"),
    ("GET", "/v1/tasks/context"),
    ("GET", "/v1/launch"),
    ("POST", "/v1/tasks/{taskId}/progress"),
    ("GET", "/v1/tasks/{taskId}/progress"),
    ("POST", "/v1/tasks/init"),
    ("POST", "/v1/tasks/{runId}/start"),
    ("GET", "/v1/tasks/{runId}"),
    ("GET", "/v1/tasks/{runId}/output"),
    ("GET", "/v1/tasks/{runId}/logs"),
    ("POST", "/v1/tasks/activity-snapshot"),
    ("GET", "/v1/jira/usage"),
    ("POST", "/v1/jira/instance-metrics"),
    ("POST", "/v1/jira/telemetry/events"),
    ("GET", "/v1/jira/team-competition"),
    ("GET", "/v1/models"),
    ("POST", "/v1/projects/{projectId}/indexes/query"),
    ("POST", "/v1/projects/{projectId}/indexes/upsert"),
}


def for_tenant(example: dict, tenant: dict) -> dict:
    """The example with its placeholders replaced by the tenant's real values."""
    filled = dict(example)
    if "userAccountId" in filled:
        filled["userAccountId"] = tenant["principal"]
    if "cloudIdHint" in filled:
        filled["cloudIdHint"] = tenant["cloud_id"]
    return filled


def assert_shape(example, actual, where="$"):
    """Every field of the example is present in the answer with the example's JSON type."""
    if isinstance(example, bool):
        assert isinstance(actual, bool), f"{where}: expected a boolean, got {actual!r}"
    elif isinstance(example, int):
        assert isinstance(actual, int) and not isinstance(actual, bool), f"{where}: expected an integer, got {actual!r}"
    elif isinstance(example, float):
        assert isinstance(actual, (int, float)) and not isinstance(actual, bool), f"{where}: expected a number"
    elif isinstance(example, str):
        assert isinstance(actual, str), f"{where}: expected a string, got {actual!r}"
    elif isinstance(example, dict):
        assert isinstance(actual, dict), f"{where}: expected an object, got {actual!r}"
        for key, value in example.items():
            if key == "...":
                continue
            assert key in actual, f"{where}: {key!r} is missing from {sorted(actual)}"
            assert_shape(value, actual[key], f"{where}.{key}")
    elif isinstance(example, list):
        assert isinstance(actual, list), f"{where}: expected an array, got {actual!r}"
        if example:
            for index, item in enumerate(actual):
                assert_shape(example[0], item, f"{where}[{index}]")


class LicensedJiraSession(JiraSession):
    """A paid production install: its tokens carry app.license and environment PRODUCTION."""

    def auth(self):
        token = self.signer.token(self.installation_id, self.cloud_id, self.principal, environment="PRODUCTION",
                                  license_active=True, capability_set="capabilityadvanced")
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def licensed_jira(client, signer, tenant):
    return LicensedJiraSession(client, signer, **tenant)


@pytest.fixture
def other_tenant():
    return {"installation_id": new_installation_id(), "cloud_id": str(uuid.uuid4()), "principal": "557058:bob"}


@pytest.fixture
def other_jira(client, signer, other_tenant):
    """The Jira app of a second tenant."""
    return JiraSession(client, signer, **other_tenant)


@pytest.fixture
def in_app(app):
    """Run a function inside an app context."""

    def run(function, *args, **kwargs):
        with app.app_context():
            return function(*args, **kwargs)

    return run


@pytest.fixture
def security_events(in_app):
    """The recorded security events as (kind, installation ARI or None, details)."""
    from seecodes.installations.models import Installation

    def read(kind=None):
        def query():
            statement = (
                select(SecurityEvent.kind, Installation.installation_id, SecurityEvent.details)
                .outerjoin(Installation, Installation.id == SecurityEvent.installation_pk)
                .order_by(SecurityEvent.id)
            )
            if kind:
                statement = statement.where(SecurityEvent.kind == kind)
            return [tuple(row) for row in db.session.execute(statement)]

        return in_app(query)

    return read


def jira_headers(session: JiraSession, key: str | None = None) -> dict:
    """A fresh Forge token plus the given (or the session's current) request key."""
    return {**session.auth(), REQUEST_KEY: key if key is not None else session.key}
