"""/openapi.json reads well in generated code: operation ids, credentials, headers, errors, examples, links."""
import re

import pytest


HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
JIRA_ONLY = {"getInstance", "createVscodeLink", "mintTaskPermit", "getUsage", "reportInstanceMetrics",
             "getTeamCompetition"}
PUBLIC = {"getHealth", "getOpenApiDocument", "exchangeLaunchCode", "openLauncher", "ingestTelemetryEvents",
          "listModels"}
BODY_OPERATIONS_WITH_VALIDATION = {"issueRequestKey", "createVscodeLink", "mintTaskPermit", "exchangeLaunchCode",
                                   "saveTaskProgress", "initRun", "startRun", "saveActivitySnapshot",
                                   "reportInstanceMetrics", "queryProjectIndex", "upsertProjectIndex"}
# The document reads no table: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


@pytest.fixture
def operations(document):
    return {operation["operationId"]: (method.upper(), path, operation)
            for path, item in document["paths"].items()
            for method, operation in item.items() if method in HTTP_METHODS}


def _resolve(document, node):
    while isinstance(node, dict) and "$ref" in node:
        section, name = node["$ref"].split("/")[2:4]
        node = document["components"][section][name]
    return node


BEYOND_THE_CONTRACT = {"cancelRun", "ingestForgeEvent"}  # the operations of contract_examples.BEYOND_THE_CONTRACT_ROUTES


def test_every_operation_has_a_camel_case_verb_id(document, operations):
    total = sum(1 for item in document["paths"].values() for method in item if method in HTTP_METHODS)
    assert total == len(operations) == 24 + len(BEYOND_THE_CONTRACT)
    assert BEYOND_THE_CONTRACT <= set(operations)
    assert all(re.fullmatch(r"(get|list|issue|create|mint|exchange|open|save|init|start|ingest|report|query|"
                            r"upsert|cancel)[A-Z][A-Za-z]*", name) for name in operations), sorted(operations)


def test_the_run_operations_have_the_names_the_issue_asks_for(operations):
    assert {"issueRequestKey", "getInstance", "createVscodeLink", "exchangeLaunchCode", "initRun", "startRun",
            "getRun", "getRunOutput"} <= set(operations)
    assert operations["getRun"][:2] == ("GET", "/v1/tasks/{runId}")


def test_public_operations_say_so_with_an_empty_security(operations):
    assert {name for name, (_, _, op) in operations.items() if op.get("security") == []} == PUBLIC


def test_the_two_bearer_credentials_are_distinguishable(document):
    schemes = document["components"]["securitySchemes"]
    assert schemes["forgeBearer"]["bearerFormat"] != schemes["taskPermit"]["bearerFormat"]


def test_jira_operations_take_the_request_key_as_a_named_header_parameter(operations):
    for name in JIRA_ONLY:
        parameters = {p["name"]: p for p in operations[name][2]["parameters"] if p["in"] == "header"}
        assert parameters["X-SeeCodes-Jira-Request-Key"]["required"] is True, name
    progress = {p["name"]: p for p in operations["getTaskProgress"][2]["parameters"]}
    assert progress["X-SeeCodes-Jira-Request-Key"]["required"] is False


def test_every_success_of_a_jira_route_announces_the_next_request_key(document, operations):
    for name in JIRA_ONLY | {"getTaskProgress"}:
        for code, response in operations[name][2]["responses"].items():
            if code.startswith("2"):
                headers = response["headers"]
                assert {"X-SeeCodes-Next-Request-Key", "X-SeeCodes-Next-Request-Key-Expires-At"} <= set(headers)
                assert _resolve(document, headers["X-SeeCodes-Next-Request-Key-Expires-At"])["schema"]["type"] \
                    == "integer"


def test_a_rate_limited_answer_documents_retry_after(document, operations):
    response = operations["exchangeLaunchCode"][2]["responses"]["429"]
    assert _resolve(document, response["headers"]["Retry-After"])["required"] is True


def test_answers_carrying_credentials_or_artifacts_document_cache_control(operations):
    for name in ("issueRequestKey", "createVscodeLink", "mintTaskPermit", "exchangeLaunchCode", "openLauncher",
                 "getRunOutput", "getRunLogs"):
        assert "Cache-Control" in operations[name][2]["responses"]["200"]["headers"], name


def test_every_answer_may_carry_a_request_id(operations):
    missing = [(name, code) for name, (_, _, op) in operations.items() for code, response in op["responses"].items()
               if "X-Request-ID" not in response.get("headers", {})]
    assert missing == []


def test_every_error_status_lists_its_codes(document, operations):
    for name, (_, _, operation) in operations.items():
        for code, response in operation["responses"].items():
            if code.startswith(("4", "5")):
                assert response["x-error-codes"], (name, code)
                assert all(f"`{c}`" in response["description"] for c in response["x-error-codes"])
                examples = response["content"]["application/json"]["examples"].values()
                assert [_resolve(document, e)["value"]["error"] for e in examples] == response["x-error-codes"]


def test_body_operations_document_400_invalid_json(operations):
    for name in BODY_OPERATIONS_WITH_VALIDATION:
        assert "invalid_json" in operations[name][2]["responses"]["400"]["x-error-codes"], name


def test_start_run_documents_its_errors_and_their_extra_fields(document, operations):
    responses = operations["startRun"][2]["responses"]
    assert set(responses["409"]["x-error-codes"]) == {"uploads_incomplete", "run_already_started", "run_expired",
                                                      "idempotency_key_in_use"}
    assert "missingFiles" in responses["409"]["description"]
    assert "requiredCredits" in responses["402"]["description"]
    fields = document["components"]["schemas"]["ErrorEnvelope"]["properties"]
    assert {"missingFiles", "requiredCredits", "availableCredits", "runStatus", "maxContext", "requestId"} <= set(fields)
    assert set(document["components"]["schemas"]["ErrorEnvelope"]["required"]) == {"ok", "error", "detail"}


def test_no_schema_shadows_a_global_of_the_client_languages(document):
    # A schema named Error becomes `export type Error` in TypeScript, hiding the global Error class.
    assert not {"Error", "Object", "Function", "String", "Number", "Boolean", "Array", "Date", "Response",
                "Request", "Headers", "Blob", "File", "Promise", "Record"} & set(document["components"]["schemas"])
    assert "ErrorEnvelope" in document["components"]["schemas"]


def test_no_default_responses_hide_the_real_statuses(operations):
    assert [name for name, (_, _, op) in operations.items() if "default" in op["responses"]] == []


def test_every_json_body_and_answer_has_an_example(operations):
    missing = []
    for name, (_, _, operation) in operations.items():
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is not None and "example" not in body:
            missing.append((name, "request"))
        for code, response in operation["responses"].items():
            content = response.get("content", {}).get("application/json")
            if code.startswith("2") and content is not None and name != "getOpenApiDocument" \
                    and "example" not in content:
                missing.append((name, code))
    assert missing == []


def test_init_run_links_to_start_status_output_logs_and_cancel(operations):
    links = operations["initRun"][2]["responses"]["200"]["links"]
    assert {link["operationId"] for link in links.values()} == {"startRun", "getRun", "getRunOutput", "getRunLogs",
                                                                "cancelRun"}
    assert all(link["parameters"] == {"runId": "$response.body#/runId"} for link in links.values())


def test_the_request_key_bootstrap_links_to_the_jira_routes(operations):
    links = operations["issueRequestKey"][2]["responses"]["200"]["links"]
    assert {link["operationId"] for link in links.values()} == JIRA_ONLY


def test_run_id_has_a_pattern(document):
    parameter = document["paths"]["/v1/tasks/{runId}"]["parameters"][0]
    assert parameter["schema"]["pattern"] == r"^run_[0-9a-f]{24}$"


def test_get_on_the_init_path_is_not_a_run_lookup(client):
    assert "GET" not in client.options("/v1/tasks/init").headers["Allow"]
    response = client.get("/v1/tasks/init")
    assert response.status_code == 405 and response.get_json()["error"] == "method_not_allowed"


def test_servers_and_license_are_set(document, app):
    assert document["servers"] == [{"url": app.config["SEECODES_PUBLIC_BASE_URL"], "description": "This deployment"}]
    assert document["info"]["license"]["name"]


def test_no_unused_components(document):
    assert "PaginationMetadata" not in document["components"]["schemas"]
    assert "responses" not in document["components"]


def test_formula_weights_are_numbers(document):
    weights = document["components"]["schemas"]["Weights"]["properties"]
    assert {field["type"] for field in weights.values()} == {"number"}


def test_stored_progress_is_a_reference_to_a_nullable_schema(document):
    # OpenAPI 3.0.3: nullable adds null only to a type beside it, so the referenced schema is the nullable one.
    progress = document["components"]["schemas"]["ProgressAnswer"]["properties"]["progress"]
    assert progress == {"$ref": "#/components/schemas/StoredProgress"}
    stored = document["components"]["schemas"]["StoredProgress"]
    assert stored["type"] == "object" and stored["nullable"] is True and "null" in stored["description"]


def test_init_files_are_typed_names(document):
    files = document["components"]["schemas"]["InitBody"]["properties"]["files"]
    assert files["items"]["type"] == "string" and files["maxItems"] == 20 and files["uniqueItems"] is True


def test_hints_document_their_formats(document, operations):
    hints = {p["name"]: p["schema"] for p in operations["getInstance"][2]["parameters"] if p["in"] == "query"}
    assert re.match(hints["cloudIdHint"]["pattern"], "ari:cloud:ecosystem::installation/5b1c2d3e-4f50")
    assert re.match(hints["siteUrlHint"]["pattern"], "https://tenant.atlassian.net")
    assert not re.match(hints["siteUrlHint"]["pattern"], "ftp://tenant.atlassian.net")


def test_request_fields_with_defaults_stay_optional_in_generated_types(document):
    # openapi-typescript types a property with a `default` as required; request schemas say defaults in words.
    bodies = {"StartBody", "VscodeLinkBody", "ProgressDocument", "ActivitySnapshotBody", "IndexUpsertBody", "Entry"}
    with_default = [(name, field) for name in bodies
                    for field, schema in document["components"]["schemas"][name]["properties"].items()
                    if "default" in schema]
    assert with_default == []
    assert "Default: 1." in document["components"]["schemas"]["VscodeLinkBody"]["properties"]["expirationDays"][
        "description"]


def test_the_init_answer_always_says_how_to_upload(document):
    init = document["components"]["schemas"]["InitAnswer"]
    assert "uploadMethod" in init["required"] and init["properties"]["uploadMethod"]["enum"] == ["PUT"]
    assert "uploadForms" not in init["required"]  # S3 only, an optional extra beside the PUT URLs
    assert "Optional" in init["properties"]["uploadForms"]["description"]


def test_statuses_are_enums_of_what_the_server_answers(document):
    schemas = document["components"]["schemas"]
    run_statuses = ["initialized", "queued", "in_process", "processing_remote", "succeeded", "failed", "cancelled"]
    assert schemas["RunStatus"]["properties"]["status"]["enum"] == run_statuses
    assert schemas["StartAnswer"]["properties"]["status"]["enum"] == ["queued"]
    assert schemas["Instance"]["properties"]["status"]["enum"] == ["active"]  # an inactive one gets 403
    assert schemas["ErrorEnvelope"]["properties"]["runStatus"]["enum"] == run_statuses
    assert schemas["ErrorEnvelope"]["properties"]["ok"]["enum"] == [False]
