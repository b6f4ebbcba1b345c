"""What the Jira guards inject: the installation as one type (InstallationSnapshot) on every path, with the values
the database holds once the request's own changes are staged."""
import pytest

from seecodes.auth import guards
from seecodes.installations import service as installations
from seecodes.installations.models import Installation
from seecodes.installations.snapshot import InstallationSnapshot

from ..helpers import REQUEST_KEY


def _injected(app, guard, headers, json=None):
    captured = []

    @guard
    def view(caller):
        captured.append(caller)
        return {"ok": True}

    with app.test_request_context("/", method="POST", headers=headers, json=json or {}):
        response = view()
        assert response.status_code == 200, response.get_json()
        stored = installations.get_by_installation_id(captured[0].installation.installation_id)
        return captured[0].installation, {name: getattr(stored, name) for name in InstallationSnapshot.names()}


@pytest.mark.parametrize("path", ["known", "learning"])
def test_the_request_key_guard_injects_a_snapshot_of_the_stored_installation(app, signer, jira, tenant, path):
    jira.bootstrap()
    auth = jira.auth()  # known: the token teaches nothing new (on PostgreSQL, the one-statement path)
    if path == "learning":
        token = signer.token(tenant["installation_id"], tenant["cloud_id"], tenant["principal"], license_active=True,
                             environment="PRODUCTION")
        auth = {"Authorization": f"Bearer {token}"}
    installation, stored = _injected(app, guards.forge_request_key, {**auth, REQUEST_KEY: jira.key})
    assert type(installation) is InstallationSnapshot
    assert installation == InstallationSnapshot(**stored)
    assert installation.license_active is (path == "learning")


def test_the_forge_bearer_guard_injects_a_snapshot_too(app, jira):
    installation, stored = _injected(app, guards.forge_bearer, jira.auth())
    assert type(installation) is InstallationSnapshot
    assert installation == InstallationSnapshot(**stored)


def test_the_snapshot_names_columns_of_the_installation_row():
    assert set(InstallationSnapshot.names()) <= {column.name for column in Installation.__table__.columns}
