"""The tenant of a Forge token: provisioned on its first valid token; hints fill gaps and never switch tenant."""
import pytest
from sqlalchemy import func, select

from seecodes.extensions import db
from seecodes.installations import service as installations
from seecodes.installations.models import Installation

from ..helpers import JiraSession, assert_envelope, set_installation_status


def _installation(in_app, installation_id):
    def read():
        row = installations.get_by_installation_id(installation_id)
        return None if row is None else {c.name: getattr(row, c.name) for c in Installation.__table__.columns}

    return in_app(read)


def _count(in_app):
    return in_app(lambda: db.session.execute(select(func.count()).select_from(Installation)).scalar_one())


@pytest.fixture
def backend_function(client, signer, tenant):
    """A Forge backend function's calls: no context, no principal, no apiBaseUrl."""
    return JiraSession(client, signer, tenant["installation_id"], None, None)


def test_first_valid_token_provisions_the_installation(jira, tenant, in_app):
    assert _installation(in_app, tenant["installation_id"]) is None
    jira.bootstrap()
    row = _installation(in_app, tenant["installation_id"])
    assert row["status"] == "active"
    assert row["site_cloud_id"] == tenant["cloud_id"]


def test_provisioned_installation_gets_the_starter_credits(app, jira, tenant, in_app):
    app.config["SEECODES_STARTER_CREDITS"] = 5
    jira.bootstrap()
    assert _installation(in_app, tenant["installation_id"])["credits"] == 5


def test_later_tokens_reuse_the_installation(jira, in_app):
    jira.bootstrap()
    jira.get("/v1/instances/me")
    jira.bootstrap()
    assert _count(in_app) == 1


def test_provisioning_survives_a_refused_request_key(client, jira, other_jira, tenant, in_app):
    other_jira.bootstrap()
    response = client.get("/v1/instances/me", headers={**jira.auth(), "X-SeeCodes-Jira-Request-Key": other_jira.key})
    assert_envelope(response, 401, "request_key_unknown")
    assert _installation(in_app, tenant["installation_id"]) is not None


def test_cloud_id_hint_naming_the_installation_itself_is_accepted(jira, tenant):
    response = jira.get("/v1/instances/me", query_string={"cloudIdHint": tenant["installation_id"]})
    assert response.status_code == 200
    assert response.get_json()["installationId"] == tenant["installation_id"]


def test_cloud_id_hint_naming_another_installation_is_refused(jira, other_jira, other_tenant):
    other_jira.bootstrap()
    response = jira.get("/v1/instances/me", query_string={"cloudIdHint": other_tenant["installation_id"]})
    assert_envelope(response, 403, "tenant_mismatch")


def test_cloud_id_hint_contradicting_the_tokens_cloud_id_is_refused(jira, other_tenant):
    response = jira.get("/v1/instances/me", query_string={"cloudIdHint": other_tenant["cloud_id"]})
    assert_envelope(response, 403, "tenant_mismatch")


def test_hint_in_a_json_body_is_checked_too(jira, other_tenant):
    response = jira.post("/v1/security/task-permit", json={"projectId": "AUTH", "taskId": "AUTH-128",
                                                           "cloudIdHint": other_tenant["installation_id"]})
    assert_envelope(response, 403, "tenant_mismatch")


def test_cloud_id_hint_fills_in_what_a_backend_function_token_lacks(backend_function, tenant, in_app):
    response = backend_function.get("/v1/instances/me", query_string={"cloudIdHint": tenant["cloud_id"]})
    assert response.status_code == 200
    assert _installation(in_app, tenant["installation_id"])["site_cloud_id"] == tenant["cloud_id"]


def test_cloud_id_hint_contradicting_a_known_installation_is_refused(backend_function, tenant, other_tenant):
    assert backend_function.get("/v1/instances/me", query_string={"cloudIdHint": tenant["cloud_id"]}).status_code == 200
    response = backend_function.get("/v1/instances/me", query_string={"cloudIdHint": other_tenant["cloud_id"]})
    assert_envelope(response, 403, "tenant_mismatch")


def test_site_url_hint_contradicting_the_known_site_is_refused(jira):
    first = jira.get("/v1/instances/me", query_string={"siteUrlHint": "https://tenant.atlassian.net"})
    assert first.status_code == 200
    response = jira.get("/v1/instances/me", query_string={"siteUrlHint": "https://other.atlassian.net"})
    assert_envelope(response, 403, "tenant_mismatch")


@pytest.mark.parametrize("hint", ["javascript:alert(1)", "https://tenant.atlassian.net:abc",
                                  "https://tenant.atlassian.net:99999", "https://user:pw@tenant.atlassian.net", "//x"])
def test_malformed_site_url_hint_is_422(jira, hint):
    response = jira.get("/v1/instances/me", query_string={"siteUrlHint": hint})
    assert_envelope(response, 422, "validation_failed")


def test_hint_never_switches_the_tenant(backend_function, other_jira, tenant, other_tenant):
    other_jira.bootstrap()
    response = backend_function.get("/v1/instances/me", query_string={"cloudIdHint": other_tenant["cloud_id"]})
    assert response.status_code == 200
    assert response.get_json()["installationId"] == tenant["installation_id"]


def test_refused_hint_consumes_no_request_key(jira, other_tenant):
    jira.bootstrap()
    key = jira.key
    assert_envelope(jira.get("/v1/instances/me", query_string={"cloudIdHint": other_tenant["installation_id"]}), 403,
                    "tenant_mismatch")
    jira.key = key
    assert jira.get("/v1/instances/me").status_code == 200


def test_jira_side_of_an_inactive_installation_is_refused(app, jira, tenant):
    jira.bootstrap()
    set_installation_status(app, tenant["installation_id"], "suspended")
    assert_envelope(jira.get("/v1/instances/me"), 403, "installation_inactive")
