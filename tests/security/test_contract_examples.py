"""Every example payload of the contract's security, instance, context, system and model routes round-trips."""
from ..contract_examples import (
    CONTEXT_EXAMPLE,
    CONTEXT_NOT_FOUND,
    HEALTH_EXAMPLE,
    INSTANCE_EXAMPLE,
    LAUNCH_EXCHANGE_BODY_EXAMPLE,
    MODELS_EXAMPLE,
    PERMIT_EXAMPLE,
    REQUEST_KEY_BODY_EXAMPLE,
    REQUEST_KEY_EXAMPLE,
    TASK_PERMIT_BODY_EXAMPLE,
    VSCODE_LINK_BODY_EXAMPLE,
    VSCODE_LINK_ANSWER_EXAMPLE,
)
from ..helpers import NEXT_KEY, bearer
from .conftest import assert_shape, for_tenant


def _link(jira, tenant, **changes):
    body = {**for_tenant(VSCODE_LINK_BODY_EXAMPLE, tenant), **changes}
    response = jira.post("/v1/security/vscode-link", json=body)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_request_key_example_round_trips(client, jira):
    response = client.post("/v1/jira/request-key", json=REQUEST_KEY_BODY_EXAMPLE, headers=jira.auth())
    assert response.status_code == 200
    body = response.get_json()
    assert_shape(REQUEST_KEY_EXAMPLE, body)
    assert body["ok"] is True
    assert body["requestKey"].startswith("sc_jira_req_")


def test_request_key_accepts_no_body(client, jira):
    response = client.post("/v1/jira/request-key", headers=jira.auth())
    assert response.status_code == 200
    assert_shape(REQUEST_KEY_EXAMPLE, response.get_json())


def test_instances_me_answers_the_whole_example_envelope(licensed_jira, tenant):
    response = licensed_jira.get("/v1/instances/me", query_string={"siteUrlHint": "https://tenant.atlassian.net"})
    assert response.status_code == 200
    body = response.get_json()
    assert_shape(INSTANCE_EXAMPLE, body)
    assert body["cloudId"] == body["installationId"] == tenant["installation_id"]
    assert (body["status"], body["licenseActive"], body["activationSource"]) == ("active", True, "forge-license")
    assert (body["capabilitySet"], body["devModeActive"], body["billingMode"]) == ("capabilityadvanced", False, "forge")
    assert body["siteUrl"] == "https://tenant.atlassian.net"
    assert body["apiKeyPrefix"].startswith("av_inst_")
    assert response.headers[NEXT_KEY].startswith("sc_jira_req_")


def test_vscode_link_example_round_trips(jira, tenant):
    body = _link(jira, tenant)
    assert_shape(VSCODE_LINK_ANSWER_EXAMPLE, body)
    assert body["launchCode"].startswith("sc_launch_")
    assert body["vscodeUrl"].startswith("vscode://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-128?code=")


def test_task_permit_example_round_trips(jira, tenant):
    response = jira.post("/v1/security/task-permit", json=for_tenant(TASK_PERMIT_BODY_EXAMPLE, tenant))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert_shape(PERMIT_EXAMPLE, body)
    assert (body["cloudId"], body["projectId"], body["taskId"]) == (tenant["installation_id"], "AUTH", "AUTH-128")


def test_launch_exchange_example_round_trips(client, jira, tenant):
    code = _link(jira, tenant)["launchCode"]
    response = client.post("/v1/security/launch-exchange", json={**LAUNCH_EXCHANGE_BODY_EXAMPLE, "code": code})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert_shape(PERMIT_EXAMPLE, body)
    assert (body["cloudId"], body["projectId"], body["taskId"]) == (tenant["installation_id"], "AUTH", "AUTH-128")


def test_tasks_context_returns_what_vscode_link_stored(client, jira, tenant):
    code = _link(jira, tenant, jiraContext=CONTEXT_EXAMPLE["context"],
                 initialTaiDoc=CONTEXT_EXAMPLE["initialTai"])["launchCode"]
    permit = client.post("/v1/security/launch-exchange",
                         json={**LAUNCH_EXCHANGE_BODY_EXAMPLE, "code": code}).get_json()["permit"]
    response = client.get("/v1/tasks/context", headers=bearer(permit))
    assert response.status_code == 200
    assert response.get_json() == CONTEXT_EXAMPLE


def test_tasks_context_without_stored_context_is_the_contracts_404(client, jira):
    response = client.get("/v1/tasks/context", headers=bearer(jira.permit()))
    assert response.status_code == 404
    body = response.get_json()
    assert {k: body[k] for k in CONTEXT_NOT_FOUND} == CONTEXT_NOT_FOUND


def test_launch_page_answers_html(client, jira, tenant):
    code = _link(jira, tenant)["launchCode"]
    response = client.get("/v1/launch", query_string={"p": "AUTH", "t": "AUTH-128", "c": code})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert code in response.get_data(as_text=True)


def test_healthz_example_round_trips(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == HEALTH_EXAMPLE


def test_openapi_json_is_an_openapi_document(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["paths"]


def test_models_example_round_trips(client, monkeypatch):
    # With an AI service configured the catalog is the contract's example exactly (offline: see tests/ops).
    monkeypatch.setenv("SEECODES_AI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SEECODES_AI_MODEL", "any")
    response = client.get("/v1/models")
    assert response.status_code == 200
    body = response.get_json()
    assert_shape(MODELS_EXAMPLE, body)
    assert body["models"] == MODELS_EXAMPLE["models"]


def test_unknown_body_fields_are_ignored(jira, tenant):
    body = _link(jira, tenant, futureField={"nested": True}, anotherOne=7)
    assert_shape(VSCODE_LINK_ANSWER_EXAMPLE, body)
