"""`flask credentials revoke` and `flask installations show | uninstall | reactivate`: each revocation refuses the
revoked credentials at once, and only those."""
import pytest

from ..helpers import assert_envelope, bearer
from .conftest import INSTALLED, exchange, mint_code, with_key

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


def _context(client, permit):
    return client.get("/v1/tasks/context", headers=bearer(permit))


def _works(client, permit) -> bool:
    return _context(client, permit).status_code in (200, 404)  # 404: no context stored yet, the permit passed


@pytest.mark.backends("sqlite", "postgresql", "production")
def test_revoke_by_installation_refuses_every_credential_at_once(cli, client, credentials, tenant, other_jira,
                                                                 security_events):
    other_permit = other_jira.permit()
    result = cli("credentials", "revoke", "--cloud-id", tenant["cloud_id"], "--reason", "leak drill")
    assert result.exit_code == 0, result.output
    assert "1 launch code(s), 2 permit(s), 1 request-key chain(s)" in result.output
    assert_envelope(_context(client, credentials.permit), 401, "permit_revoked")
    assert_envelope(_context(client, credentials.launched_permit), 401, "permit_revoked")
    assert_envelope(exchange(client, credentials.launch_code), 401, "launch_code_revoked")
    assert_envelope(with_key(credentials.jira, "GET", "/v1/instances/me"), 401, "request_key_revoked")
    assert _works(client, other_permit)
    kind, installation_id, details = security_events("credentials_revoked")[0]
    assert (installation_id, details["actor"], details["reason"], details["scope"]) == (
        tenant["installation_id"], "cli", "leak drill", "installation")
    # The installation stays active: its users start over with new credentials.
    credentials.jira.bootstrap()
    assert _works(client, credentials.jira.permit())


@pytest.mark.backends("sqlite", "postgresql", "production")
def test_revoke_one_permit_by_id(cli, client, in_app, credentials):
    from seecodes.permits import service as permits

    permit_id = in_app(lambda: permits.decode(credentials.permit)["pid"])
    result = cli("credentials", "revoke", "--permit-id", permit_id)
    assert result.exit_code == 0, result.output
    assert "0 launch code(s), 1 permit(s), 0 request-key chain(s)" in result.output
    assert_envelope(_context(client, credentials.permit), 401, "permit_revoked")
    assert _works(client, credentials.launched_permit)
    assert exchange(client, credentials.launch_code).status_code == 200


def test_revoke_by_user_leaves_the_other_users_alone(cli, client, signer, tenant, credentials):
    from ..helpers import JiraSession

    colleague = JiraSession(client, signer, tenant["installation_id"], tenant["cloud_id"], "557058:carol")
    colleague_permit = colleague.permit()
    colleague_code = mint_code(colleague)
    result = cli("credentials", "revoke", "--cloud-id", tenant["installation_id"], "--account-id", tenant["principal"])
    assert result.exit_code == 0, result.output
    assert "1 launch code(s), 2 permit(s), 1 request-key chain(s)" in result.output
    assert_envelope(_context(client, credentials.permit), 401, "permit_revoked")
    assert_envelope(exchange(client, credentials.launch_code), 401, "launch_code_revoked")
    assert_envelope(with_key(credentials.jira, "GET", "/v1/instances/me"), 401, "request_key_revoked")
    assert _works(client, colleague_permit)
    assert colleague.get("/v1/instances/me").status_code == 200
    assert exchange(client, colleague_code).status_code == 200


def test_revoke_by_task_leaves_other_tasks_and_the_chains_alone(cli, client, tenant, credentials):
    jira = credentials.jira
    other_task_permit = jira.permit("AUTH", "AUTH-129")
    other_task_code = mint_code(jira, "AUTH", "AUTH-129")
    result = cli("credentials", "revoke", "--cloud-id", tenant["cloud_id"], "--task", "AUTH/AUTH-128")
    assert result.exit_code == 0, result.output
    assert "1 launch code(s), 2 permit(s), 0 request-key chain(s)" in result.output
    assert_envelope(_context(client, credentials.permit), 401, "permit_revoked")
    assert_envelope(exchange(client, credentials.launch_code), 401, "launch_code_revoked")
    assert _works(client, other_task_permit)
    assert exchange(client, other_task_code, "AUTH", "AUTH-129").status_code == 200
    assert jira.get("/v1/instances/me").status_code == 200


@pytest.mark.parametrize("args, message", [
    ((), "--cloud-id"),
    (("--cloud-id", "nowhere"), "No installation"),
    (("--permit-id", "pmt_unknown"), "no permit"),
    (("--cloud-id", "x", "--account-id", "a", "--task", "P/T"), "separate scopes"),
    (("--cloud-id", "x", "--task", "no-slash"), "PROJECT/TASK"),
])
def test_revoke_refuses_what_it_cannot_do(cli, args, message):
    result = cli("credentials", "revoke", *args)
    assert result.exit_code != 0 and message in result.output, result.output


def test_a_revoked_permit_of_another_installation_is_not_named_by_the_wrong_cloud_id(cli, in_app, credentials,
                                                                                     other_jira, other_tenant):
    from seecodes.permits import service as permits

    other_jira.bootstrap()
    permit_id = in_app(lambda: permits.decode(credentials.permit)["pid"])
    result = cli("credentials", "revoke", "--permit-id", permit_id, "--cloud-id", other_tenant["installation_id"])
    assert result.exit_code != 0 and "belongs to" in result.output


def test_installations_show_prints_status_credits_live_credentials_activity_and_events(cli, tenant, credentials,
                                                                                       grant):
    grant(tenant["installation_id"], 42)
    cli("credentials", "revoke", "--cloud-id", tenant["cloud_id"], "--task", "AUTH/AUTH-128")
    result = cli("installations", "show", tenant["cloud_id"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"installation   {tenant['installation_id']}" in lines
    assert "status         active" in lines and "credits        42" in lines
    assert "live credentials launch codes: 0, permits: 0, request-key chains: 1" in lines
    assert any(line.startswith("last activity  20") for line in lines)
    assert any("credentials_revoked  [operational]" in line and "actor=cli" in line for line in lines)


def test_uninstall_and_reactivate_from_the_cli(cli, client, tenant, credentials, forge_event):
    result = cli("installations", "uninstall", tenant["cloud_id"])
    assert result.exit_code == 0 and "uninstalled; revoked 1 launch code(s), 2 permit(s)" in result.output
    assert_envelope(_context(client, credentials.permit), 403, "installation_uninstalled")
    assert "already uninstalled" in cli("installations", "uninstall", tenant["cloud_id"]).output
    shown = cli("installations", "show", tenant["cloud_id"]).output
    assert "status         uninstalled (since" in shown and "installation_uninstalled" in shown
    assert "reactivated" in cli("installations", "reactivate", tenant["cloud_id"]).output
    credentials.jira.bootstrap()
    assert credentials.jira.get("/v1/instances/me").get_json()["status"] == "active"
    assert forge_event(INSTALLED).get_json()["status"] == "active"  # a late installed event finds it active


def test_dev_token_for_a_lifecycle_event_has_no_context_and_no_principal(cli, app, client, tenant):
    import jwt

    from seecodes.forge import dev

    dev.write_dev_keys(app.instance_path)
    result = cli("forge", "dev-token", "--installation-id", tenant["installation_id"], "--cloud-id",
                 tenant["cloud_id"], "--lifecycle")
    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.output.strip(), options={"verify_signature": False})
    assert "context" not in claims and "principal" not in claims
    assert claims["app"]["installationId"] == tenant["installation_id"]
    assert claims["app"]["apiBaseUrl"].endswith(tenant["cloud_id"])
    refused = cli("forge", "dev-token", "--installation-id", tenant["installation_id"], "--lifecycle",
                  "--principal", "557058:alice")
    assert refused.exit_code != 0
