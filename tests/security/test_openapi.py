"""/openapi.json documents exactly the contract's 24 route-methods; /docs works with no network."""
import re
from urllib.parse import urlsplit

import pytest

from ..contract_examples import BEYOND_CONTRACT_ROUTES, CONTRACT_ROUTES

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# The schema and the docs read no table: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def _operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, operation


def _resolve(document, node):
    while isinstance(node, dict) and "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        section = node["$ref"].split("/")[2]
        node = document["components"][section][name]
    return node


def test_the_schema_lists_exactly_the_24_contract_route_methods(document):
    listed = {(method, path) for method, path, _ in _operations(document)}
    assert len(CONTRACT_ROUTES) == 24
    assert sorted(CONTRACT_ROUTES - listed) == [], "missing from /openapi.json"
    assert sorted(listed - CONTRACT_ROUTES - BEYOND_CONTRACT_ROUTES) == [], "not in the contract"


def test_the_three_credential_schemes_are_defined(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["forgeBearer"]["type"] == "http" and schemes["forgeBearer"]["scheme"] == "bearer"
    assert schemes["jiraRequestKey"] == {**schemes["jiraRequestKey"], "type": "apiKey", "in": "header",
                                         "name": "X-SeeCodes-Jira-Request-Key"}
    assert schemes["taskPermit"]["type"] == "http" and schemes["taskPermit"]["scheme"] == "bearer"


def test_guarded_routes_name_their_credential_scheme(document):
    expected = {
        ("POST", "/v1/jira/request-key"): [{"forgeBearer": []}],
        ("GET", "/v1/instances/me"): [{"forgeBearer": [], "jiraRequestKey": []}],
        ("POST", "/v1/security/vscode-link"): [{"forgeBearer": [], "jiraRequestKey": []}],
        ("POST", "/v1/security/task-permit"): [{"forgeBearer": [], "jiraRequestKey": []}],
        ("GET", "/v1/tasks/context"): [{"taskPermit": []}],
    }
    found = {(m, p): op.get("security") for m, p, op in _operations(document) if (m, p) in expected}
    assert found == expected


def test_every_permit_route_requires_the_task_permit(document):
    unguarded = [
        (method, path) for method, path, operation in _operations(document)
        if path.startswith(("/v1/tasks", "/v1/projects"))
        and {"taskPermit": []} not in (operation.get("security") or [])
    ]
    assert unguarded == []


def test_every_success_response_has_a_schema(document):
    missing = []
    for method, path, operation in _operations(document):
        for code, response in operation["responses"].items():
            contents = _resolve(document, response).get("content", {})
            if code.startswith("2") and (not contents or not all(c.get("schema") for c in contents.values())):
                missing.append((method, path, code))
    assert missing == []


def test_every_route_documents_an_answer_with_a_schema(document):
    # The disabled telemetry route has no success answer: its documented 410 is its answer.
    bare = [
        (method, path) for method, path, operation in _operations(document)
        if not any(
            content.get("schema")
            for code, response in operation["responses"].items() if code != "default"
            for content in _resolve(document, response).get("content", {}).values()
        )
    ]
    assert bare == []


def test_every_body_has_a_request_schema(document):
    missing = [
        (method, path) for method, path, operation in _operations(document)
        if method == "POST" and not (
            operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
        )
    ]
    assert missing == []


def test_every_query_parameter_has_a_schema(document):
    missing = [
        (method, path, parameter.get("name"))
        for method, path, operation in _operations(document)
        for parameter in operation.get("parameters", [])
        if not parameter.get("schema")
    ]
    assert missing == []


def test_every_documented_error_is_the_envelope(document):
    wrong = []
    for method, path, operation in _operations(document):
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                schema = _resolve(document, response).get("content", {}).get("application/json", {}).get("schema")
                if schema != {"$ref": "#/components/schemas/ErrorEnvelope"}:
                    wrong.append((method, path, code))
    assert wrong == []


def test_the_launcher_documents_its_query(document):
    parameters = {p["name"]: p for p in document["paths"]["/v1/launch"]["get"]["parameters"]}
    assert {name for name, p in parameters.items() if p.get("required")} == {"p", "t", "c"}
    assert {"baseUrl", "statusLanguage"} <= set(parameters)
    assert "k" not in parameters


def test_docs_page_references_only_the_apps_own_assets(client):
    page = client.get("/docs")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    references = re.findall(r'(?:src|href)\s*=\s*"([^"]+)"', text)
    assert references
    assert [r for r in references if urlsplit(r).netloc] == []
    assert re.findall(r"https?://[^\s\"'<>]+", text) == []


def test_docs_assets_load_from_the_app(client):
    text = client.get("/docs").get_data(as_text=True)
    for reference in re.findall(r'(?:src|href)\s*=\s*"([^"]+)"', text):
        response = client.get(reference)
        assert response.status_code == 200, reference
        assert len(response.get_data()) > 1000, reference


def test_docs_do_not_send_the_schema_to_an_online_validator(client):
    # Swagger UI's default validatorUrl is validator.swagger.io: the browser would call it with our schema URL.
    text = client.get("/docs").get_data(as_text=True)
    assert re.search(r'"validatorUrl"\s*:\s*null', text)
