"""Fixtures of the security tests: example filling and shape checks, a licensed install, security events."""
import pytest
from sqlalchemy import select

from seecodes.audit.models import SecurityEvent
from seecodes.extensions import db

from ..contract_examples import (  # noqa: F401 (re-exported: tests of this folder import them from here)
    REQUEST_KEY_BODY_EXAMPLE,
    REQUEST_KEY_EXAMPLE,
    INSTANCE_EXAMPLE,
    VSCODE_LINK_BODY_EXAMPLE,
    VSCODE_LINK_ANSWER_EXAMPLE,
    VSCODE_LINK_EXAMPLE,
    TASK_PERMIT_BODY_EXAMPLE,
    PERMIT_EXAMPLE,
    LAUNCH_EXCHANGE_BODY_EXAMPLE,
    CONTEXT_EXAMPLE,
    CONTEXT_NOT_FOUND,
    HEALTH_EXAMPLE,
    MODELS_EXAMPLE,
    PERMIT_ROUTE_BODIES,
    CONTRACT_ROUTES,
)
from ..helpers import REQUEST_KEY, JiraSession, assert_envelope, race  # noqa: F401 (re-exported for the tests)


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
