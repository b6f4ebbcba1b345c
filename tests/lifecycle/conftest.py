"""Fixtures of the lifecycle tests: Forge's lifecycle events, live credentials of every kind, a funded tenant."""
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from seecodes.audit.models import SecurityEvent
from seecodes.extensions import db
from seecodes.installations import service as installations
from seecodes.launch_codes.models import LaunchCode
from seecodes.permits.models import Permit
from seecodes.request_keys.models import RequestKey

from ..contract_examples import VSCODE_LINK_EXAMPLE
from ..helpers import REQUEST_KEY, JiraSession

INSTALLED, UPGRADED, UNINSTALLED = "avi:forge:installed:app", "avi:forge:upgraded:app", "avi:forge:uninstalled:app"


@pytest.fixture
def forge_event(client, signer, tenant):
    """Deliver a lifecycle event as Forge does: a Forge token without context or principal, no request key."""

    def deliver(event_type, installation_id=None, **body):
        token = signer.token(installation_id or tenant["installation_id"], tenant["cloud_id"], None,
                             with_context=False)
        payload = {"eventType": event_type, "id": "fff8e466-31f4-4c73-a337-c3309dd930dc",
                   "context": f"ari:cloud:jira::site/{tenant['cloud_id']}",
                   "app": {"id": "406d303d-0393-4ec4-ad7c-1435be94583a", "version": "1.0.0"}, **body}
        return client.post("/v1/forge/events", json=payload, headers={"Authorization": f"Bearer {token}"})

    return deliver


@dataclass
class Credentials:
    """One live credential of each kind, as a tenant's users hold them."""

    jira: JiraSession  # its current request key is live
    launch_code: str  # minted, not exchanged
    permit: str  # minted directly
    launched_permit: str  # from a launch-code exchange


def mint_code(jira: JiraSession, project_id="AUTH", task_id="AUTH-128") -> str:
    body = {**VSCODE_LINK_EXAMPLE, "projectId": project_id, "taskId": task_id, "userAccountId": jira.principal}
    answer = jira.post("/v1/security/vscode-link", json=body)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()["launchCode"]


@pytest.fixture
def credentials(jira):
    launched = jira.launch()
    permit = jira.permit()
    code = mint_code(jira)
    return Credentials(jira, code, permit, launched)


def exchange(client, code, project_id="AUTH", task_id="AUTH-128"):
    return client.post("/v1/security/launch-exchange", json={"code": code, "projectId": project_id,
                                                               "taskId": task_id})


def with_key(jira: JiraSession, method, path, **kwargs):
    """A Jira call with the session's current key, which the session keeps even when the call is refused."""
    return jira.client.open(path, method=method, headers={**jira.auth(), REQUEST_KEY: jira.key}, **kwargs)


@pytest.fixture
def live_counts(in_app):
    """Live credentials of an installation, by kind."""

    def read(installation_id):
        def query():
            pk = installations.get_by_installation_id(installation_id).id
            return {
                "launch_codes": db.session.scalar(select(func.count()).select_from(LaunchCode).where(
                    LaunchCode.installation_pk == pk, LaunchCode.consumed_at.is_(None),
                    LaunchCode.revoked_at.is_(None))),
                "permits": db.session.scalar(select(func.count()).select_from(Permit).where(
                    Permit.installation_pk == pk, Permit.revoked_at.is_(None))),
                "request_keys": db.session.scalar(select(func.count()).select_from(RequestKey).where(
                    RequestKey.installation_pk == pk, RequestKey.consumed_at.is_(None),
                    RequestKey.superseded_at.is_(None))),
            }

        return in_app(query)

    return read


@pytest.fixture
def event_kinds(in_app):
    def read(installation_id):
        def query():
            pk = installations.get_by_installation_id(installation_id).id
            return list(db.session.execute(select(SecurityEvent.kind).where(SecurityEvent.installation_pk == pk)
                                           .order_by(SecurityEvent.id)).scalars())

        return in_app(query)

    return read


from ..security.conftest import security_events  # noqa: E402,F401 (the recorded events, as the security tests read them)
