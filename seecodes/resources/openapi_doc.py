"""The OpenAPI document's finishing pass: operation ids, headers, examples and links from one table; the error
responses rendered from what the views' decorators declare (seecodes.apidoc)."""
from copy import deepcopy

import click
from flask.cli import AppGroup

from ..extensions import api

from ..json_input import CHECK_REQUEST_ERRORS
from . import openapi_examples as ex
from .tasks.schemas_runs import RUN_STATUSES

ERROR_REF = {"$ref": "#/components/schemas/ErrorEnvelope"}
RUN_ID_PATTERN = r"^run_[0-9a-f]{24}$"
REQUEST_KEY_HEADER = "X-SeeCodes-Jira-Request-Key"
NEXT_KEY_HEADER = "X-SeeCodes-Next-Request-Key"
NEXT_KEY_EXPIRES_HEADER = "X-SeeCodes-Next-Request-Key-Expires-At"

JIRA = {"forgeBearer": [], "jiraRequestKey": []}
# The router answers 404 `not_found` for a runId its converter refuses (resources.RunIdConverter).
ROUTER_ERRORS = {"runId": {404: ["not_found"]}}

ERROR_DESCRIPTIONS = {
    400: "The body is not JSON or cannot be parsed",
    401: "Missing, malformed, expired, replayed or unknown credential",
    402: "Not enough credits",
    403: "Credential valid but bound to another tenant, project, task or user",
    404: "Unknown resource inside the credential's binding",
    409: "State conflict",
    410: "Gone",
    413: "Body or input too large",
    415: "The body is not application/json",
    416: "Range not satisfiable: nothing at or after that byte (Content-Range gives the length)",
    422: "Validation failed: `errors` maps each field to its messages",
    429: "Rate limited: retry after Retry-After seconds",
    503: "A backing service (database, Redis, storage or queue) is unavailable; nothing was changed",
}

# Which optional fields an error code adds to the envelope.
ERROR_EXTRAS = {
    "uploads_incomplete": ["missingFiles"],
    "insufficient_credits": ["requiredCredits", "availableCredits"],
    "input_exceeds_context": ["estimatedInputTokens", "maxContext"],
    "upload_too_large": ["files"],
    "run_not_succeeded": ["runStatus"],
    "too_many_open_runs": ["maxOpenRuns"],
    "validation_failed": ["errors"],
    "installation_uninstalled": ["installationStatus"],
}


def _op(operation_id, *, request=None, response=None, headers=None, cache=False, links=None, idempotent=False):
    """What the table adds to an operation: its id, examples, headers and links (and, for a write that honours
    Idempotency-Key, that header and Idempotent-Replayed). Errors and credentials are declared by the decorators
    of the view (seecodes.apidoc), not here."""
    return {"operationId": operation_id, "request": request, "response": response, "headers": headers or {},
            "cache": cache, "links": links or {}, "idempotent": idempotent}


def _key_link(operation_id: str, source: str) -> dict:
    return {"operationId": operation_id, "parameters": {f"header.{REQUEST_KEY_HEADER}": source},
            "description": f"The request key to send with {operation_id}."}


JIRA_ROUTES = ["getInstance", "createVscodeLink", "mintTaskPermit", "getUsage", "reportInstanceMetrics",
               "getTeamCompetition"]
_FROM_BODY = "$response.body#/requestKey"
_FROM_HEADER = f"$response.header.{NEXT_KEY_HEADER}"


def _run_link(operation_id: str) -> dict:
    return {"operationId": operation_id, "parameters": {"runId": "$response.body#/runId"},
            "description": f"{operation_id} for the run just created."}


OPERATIONS = {
    ("get", "/healthz"): _op("getHealth", response={"ok": True}),
    ("get", "/openapi.json"): _op("getOpenApiDocument"),
    ("post", "/v1/jira/request-key"): _op(
        "issueRequestKey", request=ex.REQUEST_KEY_BODY, response=ex.REQUEST_KEY, cache=True,
        links={op: _key_link(op, _FROM_BODY) for op in JIRA_ROUTES}),
    ("get", "/v1/instances/me"): _op("getInstance", response=ex.INSTANCE),
    # Beyond the contract (DESIGN.md): Forge itself calls it, with a Forge token and no request key.
    ("post", "/v1/forge/events"): _op("ingestForgeEvent", request={
            "eventType": "avi:forge:uninstalled:app", "id": "fff8e466-31f4-4c73-a337-c3309dd930dc",
            "app": {"id": "406d303d-0393-4ec4-ad7c-1435be94583a", "version": "9.0.0"},
            "context": "ari:cloud:jira::site/c821c30c-a2ad-47d7-b742-9fed48cfd6b9"}, response={
            "ok": True, "eventType": "avi:forge:uninstalled:app",
            "installationId": "ari:cloud:ecosystem::installation/fff8e466-31f4-4c73-a337-c3309dd930dc",
            "status": "uninstalled", "changed": True, "revoked": {"launchCodes": 1, "permits": 2, "requestKeys": 3},
            "settledRuns": 1}),
    ("post", "/v1/security/vscode-link"): _op(
        "createVscodeLink", request=ex.VSCODE_LINK_BODY, response=ex.VSCODE_LINK, cache=True, links={
            "exchangeLaunchCode": {"operationId": "exchangeLaunchCode", "requestBody": {
                "code": "$response.body#/launchCode", "projectId": "$request.body#/projectId",
                "taskId": "$request.body#/taskId"}, "description": "Exchange the launch code for the permit."}}),
    ("post", "/v1/security/task-permit"): _op("mintTaskPermit", request=ex.TASK_PERMIT_BODY, response=ex.PERMIT,
                                              cache=True),
    ("post", "/v1/security/launch-exchange"): _op("exchangeLaunchCode", request=ex.LAUNCH_EXCHANGE_BODY,
                                                  response=ex.PERMIT, cache=True),
    ("get", "/v1/launch"): _op("openLauncher", cache=True,
                               headers={"Content-Security-Policy": "CSP", "Referrer-Policy": "ReferrerPolicy"}),
    ("get", "/v1/tasks/context"): _op("getTaskContext", response=ex.TASK_CONTEXT),
    ("post", "/v1/tasks/{taskId}/progress"): _op("saveTaskProgress", request=ex.PROGRESS_BODY,
                                                 response={"ok": True}),
    ("get", "/v1/tasks/{taskId}/progress"): _op("getTaskProgress", response=ex.PROGRESS),
    ("post", "/v1/tasks/init"): _op(
        "initRun", request=ex.INIT_BODY, response=ex.INIT, idempotent=True,
        links={op: _run_link(op) for op in ("startRun", "getRun", "getRunOutput", "getRunLogs", "cancelRun")}),
    ("post", "/v1/tasks/{runId}/start"): _op(
        "startRun", request=ex.START_BODY, response=ex.START, idempotent=True,
        links={op: _run_link(op) for op in ("getRun", "getRunOutput", "getRunLogs", "cancelRun")}),
    ("post", "/v1/tasks/{runId}/cancel"): _op("cancelRun", response=ex.CANCEL, idempotent=True,
                                              links={"getRun": _run_link("getRun")}),
    ("get", "/v1/tasks/{runId}"): _op("getRun", response=ex.RUN_STATUS,
                                      headers={"ETag": "ETag", "Retry-After": "PollAfter"}),
    ("get", "/v1/tasks/{runId}/output"): _op("getRunOutput", cache=True),
    ("get", "/v1/tasks/{runId}/logs"): _op("getRunLogs", cache=True, headers={"ETag": "ETag"}),
    ("post", "/v1/tasks/activity-snapshot"): _op("saveActivitySnapshot", request=ex.ACTIVITY_BODY,
                                                 response=ex.ACTIVITY),
    ("get", "/v1/jira/usage"): _op("getUsage", response=ex.USAGE),
    ("post", "/v1/jira/instance-metrics"): _op("reportInstanceMetrics", request=ex.INSTANCE_METRICS_BODY,
                                               response={"ok": True}),
    ("post", "/v1/jira/telemetry/events"): _op("ingestTelemetryEvents", request=ex.TELEMETRY_BODY),
    ("get", "/v1/jira/team-competition"): _op("getTeamCompetition", response=ex.TEAM_COMPETITION),
    ("get", "/v1/models"): _op("listModels", response=ex.MODELS),
    ("post", "/v1/projects/{projectId}/indexes/query"): _op("queryProjectIndex", request=ex.INDEX_QUERY_BODY,
                                                            response=ex.INDEX_QUERY),
    ("post", "/v1/projects/{projectId}/indexes/upsert"): _op("upsertProjectIndex", request=ex.INDEX_UPSERT_BODY,
                                                             response=ex.INDEX_UPSERT),
}

HEADERS = {
    "NextRequestKey": {"description": "The chain's next request key: send it as X-SeeCodes-Jira-Request-Key "
                                      "on the next Jira-side call (the key just used is spent).",
                       "schema": {"type": "string"}, "example": ex.REQUEST_KEY["requestKey"]},
    "NextRequestKeyExpiresAt": {"description": "When the next request key expires (epoch seconds).",
                                "schema": {"type": "integer"}, "example": 1735689600},
    "RetryAfter": {"description": "Seconds to wait before trying again.", "required": True,
                   "schema": {"type": "integer", "minimum": 0}, "example": 30},
    "CacheControl": {"description": "`no-store` on answers that carry credentials or run artifacts.",
                     "schema": {"type": "string"}, "example": "no-store"},
    "RequestId": {"description": "The request's id, also in error envelopes as requestId; quote it in reports.",
                  "schema": {"type": "string"}},
    "CSP": {"description": "`default-src 'none'` with a nonce for the page's own script; `frame-ancestors 'none'`.",
            "schema": {"type": "string"}},
    "ReferrerPolicy": {"description": "`no-referrer`", "schema": {"type": "string"}, "example": "no-referrer"},
    "ETag": {"description": "Validator of this answer: send it back as If-None-Match to get 304 while nothing "
                            "changed.", "schema": {"type": "string"}, "example": 'W/"s-3f9c0b1e2d4a5b6c"'},
    "PollAfter": {"description": "While the run works: seconds to wait before polling again.",
                  "schema": {"type": "integer", "minimum": 0}, "example": 2},
    "IdempotentReplayed": {"description": "`true` when this is the stored answer to an earlier request with the "
                                          "same Idempotency-Key.", "schema": {"type": "string"}, "example": "true"},
}

PARAMETERS = {
    "IdempotencyKey": {"name": "Idempotency-Key", "in": "header", "required": False,
                       "description": "Any unique string (a UUID): a retry with the same key and the same request "
                                      "within 24 h answers the first answer again instead of doing the work twice; "
                                      "the same key with another request is a 422 `idempotency_key_reused`. Only "
                                      "successful answers are kept: a refused request may be retried as is.",
                       "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
                       "example": "5f0c6a52-8d9e-4a2b-b1c3-9e7d6f5a4b3c"},
    "JiraRequestKey": {"name": REQUEST_KEY_HEADER, "in": "header", "required": True,
                       "description": "The chain's current single-use request key.",
                       "schema": {"type": "string", "maxLength": 256}, "example": ex.REQUEST_KEY["requestKey"]},
    "JiraRequestKeyOptional": {"name": REQUEST_KEY_HEADER, "in": "header", "required": False,
                               "description": "Only with a Forge token as the bearer (the Jira app): the "
                                              "chain's current request key. With a task permit as the bearer "
                                              "this header is ignored and never consumed.",
                               "schema": {"type": "string", "maxLength": 256}, "example": ex.REQUEST_KEY["requestKey"]},
}

# Field rules the server checks outside marshmallow's introspectable validators (guards, custom fields).
_HINT_FIELDS = {
    "cloudIdHint": {"type": "string", "nullable": True, "maxLength": 512,
                    "pattern": r"^(ari:cloud:ecosystem::installation/[0-9a-fA-F-]{1,64}|[A-Za-z0-9-]{1,64})?$",
                    "description": "The Jira site's cloud id or the installation ARI; it may only fill in what "
                                   "the Forge token lacks (another tenant's is refused with 403)",
                    "example": "2f1c4b7e-8a90-4d1b-9c3e-5f6a7b8c9d0e"},
    "siteUrlHint": {"type": "string", "nullable": True, "maxLength": 512,
                    "pattern": r"^(https?://[A-Za-z0-9.-]+(:[1-9][0-9]{0,3})?(/[!-~]*)?)?$",
                    "description": "The Jira site's http(s) URL", "example": "https://tenant.atlassian.net"},
}
_PATH_RULES = {"type": "string", "minLength": 1, "maxLength": 1024,
               "pattern": r"^(?!/)(?!.*//)(?!.*\\)(?!(.*/)?\.\.?(/|$))[^\x00-\x1f\x7f]+(?<!/)$",
               "description": "POSIX path relative to the project root: no leading or trailing '/', no empty, "
                              "'.' or '..' segments, no '\\', no control characters (at most 2048 UTF-8 bytes)"}
_HASH_RULES = {"type": "string", "pattern": r"^[0-9a-fA-F]{64}$", "description": "SHA-256 hex digest (stored lowercase)"}
_FILE_NAME = {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^(?!\.\.?$)[^/\\\x00-\x1f\x7f]+$"}

# Years 1970-9998: what the server accepts for dates and moments.
_YEAR = r"(19[7-9][0-9]|[2-8][0-9]{3}|9[0-8][0-9]{2}|99[0-8][0-9]|999[0-8])"
_MOMENT = {"pattern": f"^{_YEAR}-", "description": "ISO-8601 date-time with a timezone, years 1970-9998"}
QUERY_PATCHES = {
    "startDate": {"pattern": f"^{_YEAR}-", "description": "ISO date (UTC), inclusive, years 1970-9998; "
                  "not after endDate, at most 366 days before it"},
    "endDate": {"pattern": f"^{_YEAR}-", "description": "ISO date (UTC), inclusive, years 1970-9998"},
}

SCHEMA_PATCHES = {
    ("ActivitySnapshotBody", "windowStartedAt"): _MOMENT,
    ("ActivitySnapshotBody", "windowEndedAt"): {**_MOMENT, "description": "After windowStartedAt, at most 24 h "
                                                "later; humanActiveMs may not exceed the window"},
    ("ActivitySnapshotBody", "taskStartedAt"): _MOMENT,
    ("InitBody", "files"): {"items": _FILE_NAME, "minItems": 1, "maxItems": 20, "uniqueItems": True},
    ("QueryItem", "path"): _PATH_RULES,
    ("QueryItem", "hash"): _HASH_RULES,
    ("Entry", "hash"): _HASH_RULES,
    ("IndexUpsertBody", "deletePaths"): {"items": _PATH_RULES, "maxItems": 5000},
    # OpenAPI 3.0 has no propertyNames: the key rules are said in words and, for tools, as an x- keyword.
    ("IndexUpsertBody", "entries"): {"maxProperties": 5000, "x-propertyNames": _PATH_RULES, "description":
                                     "At most 5000 entries, keyed by path. Each key is a " + _PATH_RULES[
                                         "description"] + " (the keys' schema is in x-propertyNames)"},
    ("IndexQueryBody", "items"): {"maxItems": 5000},
    ("ErrorEnvelope", "runStatus"): {"enum": RUN_STATUSES},
    ("Weights", "changedFile"): {"type": "number"},
    ("Weights", "architectureBonus"): {"type": "number"},
    ("Weights", "logicBonus"): {"type": "number"},
    ("Weights", "specificationUiBonus"): {"type": "number"},
}


def _error_response(status: int, codes: list[str]) -> dict:
    listed = ", ".join(f"`{code}`" for code in codes)
    extras = sorted({field for code in codes for field in ERROR_EXTRAS.get(code, [])})
    summary = "The query is malformed" if status == 400 and "invalid_json" not in codes else ERROR_DESCRIPTIONS.get(
        status, "Error")
    description = f"{summary}. `error` is one of: {listed}."
    if extras:
        description += f" Extra fields: {', '.join(extras)}."
    examples = {code: {"$ref": f"#/components/examples/{_example_name(code)}"} for code in codes}
    response = {"description": description, "x-error-codes": codes,
                "content": {"application/json": {"schema": ERROR_REF, "examples": examples}},
                "headers": {"X-Request-ID": {"$ref": "#/components/headers/RequestId"}}}
    if status == 429:
        response["headers"]["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    return response


def _example_name(code: str) -> str:
    return "".join(part.capitalize() for part in code.replace(" ", "_").split("_")) + "Error"


def _error_examples(codes: set) -> dict:
    return {_example_name(code): {"summary": code, "value": {
        "ok": False, "error": code, "detail": ex.ERROR_DETAILS.get(code, code.replace("_", " ").capitalize() + ".")}}
        for code in sorted(codes)}


def _declared_errors(path: str, item: dict, operation: dict) -> dict[int, list[str]]:
    """The codes the view's decorators declared (seecodes.apidoc), plus the router's for its path parameters.
    An error status with nothing declared is a bug of the declarations, not something to paper over."""
    declared = {}
    for status, response in operation.get("responses", {}).items():
        if status.startswith(("4", "5")):
            codes = response.get("x-error-codes") if isinstance(response, dict) else None
            if not codes:
                raise ValueError(f"{path}: {status} is documented but no decorator declares its error codes")
            declared[int(status)] = list(codes)
    parameters = item.get("parameters", []) + operation.get("parameters", [])
    if any(p.get("in") == "path" for p in parameters):  # the app-wide check of path parameters' text
        for status, codes in CHECK_REQUEST_ERRORS.items():
            declared.setdefault(status, [])
            declared[status] += [c for c in codes if c not in declared[status]]
    names = {p.get("name") for p in parameters}
    for name, errors in ROUTER_ERRORS.items():
        if name in names:
            for status, codes in errors.items():
                declared.setdefault(status, [])
                declared[status] += [c for c in codes if c not in declared[status]]
    return declared


def _finish_operation(path: str, item: dict, operation: dict, spec: dict) -> set:
    """Completes one operation; answers the error codes it lists."""
    operation["operationId"] = spec["operationId"]
    security = operation.setdefault("security", [])  # no guard declared one: a public operation
    next_key = None if JIRA not in security else "required" if security == [JIRA] else "optional"
    responses = operation.setdefault("responses", {})
    responses.pop("default", None)  # flask-smorest's generic one: every real status is listed
    errors = _declared_errors(path, item, operation)
    for status in [c for c in responses if c.startswith(("4", "5"))]:
        del responses[status]
    for status, codes in sorted(errors.items()):
        responses[str(status)] = _error_response(status, codes)
    if next_key:
        reference = "JiraRequestKey" if next_key == "required" else "JiraRequestKeyOptional"
        operation.setdefault("parameters", []).insert(0, deepcopy(PARAMETERS[reference]))
    if spec["idempotent"]:
        operation.setdefault("parameters", []).append(deepcopy(PARAMETERS["IdempotencyKey"]))
    if spec["request"] is not None and "requestBody" in operation:
        operation["requestBody"]["content"]["application/json"]["example"] = spec["request"]
    for code, response in responses.items():
        if not code.startswith(("2", "3")):
            continue
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = {"$ref": "#/components/headers/RequestId"}
        if next_key:
            required = next_key == "required"
            headers[NEXT_KEY_HEADER] = {"$ref": "#/components/headers/NextRequestKey"} if not required else {
                **HEADERS["NextRequestKey"], "required": True}
            headers[NEXT_KEY_EXPIRES_HEADER] = {"$ref": "#/components/headers/NextRequestKeyExpiresAt"} \
                if not required else {**HEADERS["NextRequestKeyExpiresAt"], "required": True}
        if spec["cache"]:
            headers["Cache-Control"] = {"$ref": "#/components/headers/CacheControl"}
        if spec["idempotent"]:
            headers["Idempotent-Replayed"] = {"$ref": "#/components/headers/IdempotentReplayed"}
        for name, component in spec["headers"].items():
            headers[name] = {"$ref": f"#/components/headers/{component}"}
        if spec["response"] is not None:
            content = response.get("content", {}).get("application/json")
            if content is not None:
                content["example"] = spec["response"]
        if spec["links"] and code.startswith("2"):
            response["links"] = deepcopy(spec["links"])
    for parameter in operation.get("parameters", []):
        if parameter.get("name") in _HINT_FIELDS and parameter.get("in") == "query":
            parameter["schema"] = deepcopy(_HINT_FIELDS[parameter["name"]])
        if parameter.get("name") in QUERY_PATCHES and parameter.get("in") == "query":
            parameter["schema"].update(deepcopy(QUERY_PATCHES[parameter["name"]]))
    return {code for codes in errors.values() for code in codes}


def _patch_schemas(schemas: dict) -> None:
    for name, schema in schemas.items():
        for field, rules in _HINT_FIELDS.items():
            if field in schema.get("properties", {}):
                schema["properties"][field] = deepcopy(rules)
    for (name, field), rules in SCHEMA_PATCHES.items():
        if name in schemas and field in schemas[name].get("properties", {}):
            schemas[name]["properties"][field].update(deepcopy(rules))
    _nullable_refs(schemas)


def _request_schema_names(document: dict) -> set:
    bodies = [op.get("requestBody", {}) for item in document.get("paths", {}).values() for op in item.values()
              if isinstance(op, dict)]
    found: set = set()
    _references(bodies, found)
    pending = list(found)
    while pending:
        section, name = pending.pop()
        nested: set = set()
        _references(document["components"].get(section, {}).get(name), nested)
        pending.extend(nested - found)
        found |= nested
    return {name for section, name in found if section == "schemas"}


def _defaults_into_descriptions(schemas: dict, names: set) -> None:
    """A request field with a `default` is typed as required by openapi-typescript (defaultNonNullable): say the
    default in words instead, so that generated request types keep the field optional."""
    for name in names:
        for field in schemas.get(name, {}).get("properties", {}).values():
            if "default" in field:
                default = field.pop("default")
                if default is not None:
                    shown = "[]" if default == [] else repr(default).replace("'", '"')
                    field["description"] = f"{field.get('description', '').rstrip('.')}. Default: {shown}.".lstrip(". ")


def _nullable_refs(schemas: dict) -> None:
    """apispec renders a nullable Nested as anyOf [$ref, any object]. In OpenAPI 3.0.3 `nullable` only adds null
    to a `type` beside it (so allOf [$ref] + nullable still refuses null): the referenced schema itself is made
    nullable, which is sound because such a schema is only used where null is allowed (checked here)."""
    nullable, plain, descriptions = set(), set(), {}

    def walk(node):
        if isinstance(node, dict):
            any_of = node.get("anyOf")
            if (isinstance(any_of, list) and len(any_of) == 2 and "$ref" in any_of[0]
                    and any_of[1] == {"type": "object", "nullable": True}):
                reference = any_of[0]["$ref"]
                nullable.add(reference.rsplit("/", 1)[1])
                if node.get("description"):
                    descriptions[reference.rsplit("/", 1)[1]] = node["description"]
                node.clear()
                node["$ref"] = reference  # a description beside $ref would be ignored: it moves to the target
                return
            if isinstance(node.get("$ref"), str):
                plain.add(node["$ref"].rsplit("/", 1)[1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schemas)
    both = nullable & plain
    if both:
        raise ValueError(f"schemas used both nullable and not: {sorted(both)}")
    for name in nullable:
        schemas[name]["nullable"] = True
        if name in descriptions:
            schemas[name]["description"] = descriptions[name]


def _references(node, found: set) -> None:
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/components/"):
            found.add(tuple(reference.split("/")[2:4]))
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)


def _prune(document: dict) -> None:
    """Drop components nothing refers to (flask-smorest registers pagination and every HTTP status)."""
    components = document.get("components", {})
    found: set = set()
    _references({k: v for k, v in document.items() if k != "components"}, found)
    pending = list(found)
    while pending:
        section, name = pending.pop()
        nested: set = set()
        _references(components.get(section, {}).get(name), nested)
        pending.extend(nested - found)
        found |= nested
    for section, entries in components.items():
        if section != "securitySchemes":
            for name in [n for n in entries if (section, n) not in found]:
                del entries[name]
    for section in [s for s, entries in components.items() if not entries]:
        del components[section]


def finish(document: dict, public_base_url: str | None = None) -> dict:
    """The served document: the generated one completed from OPERATIONS and the declared errors, then pruned."""
    document = deepcopy(document)
    if public_base_url:
        document["servers"] = [{"url": public_base_url.rstrip("/"), "description": "This deployment"}]
    components = document.setdefault("components", {})
    components.setdefault("headers", {}).update(deepcopy(HEADERS))
    codes: set = set()
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            spec = OPERATIONS.get((method, path))
            if spec is not None:
                codes |= _finish_operation(path, item, operation, spec)
        for parameter in item.get("parameters", []):
            if parameter.get("name") == "runId":
                parameter["schema"] = {"type": "string", "pattern": RUN_ID_PATTERN,
                                       "example": "run_3f9c0b1e2d4a5b6c7d8e9f00"}
    components.setdefault("examples", {}).update(_error_examples(codes))
    _patch_schemas(components.get("schemas", {}))
    _defaults_into_descriptions(components.get("schemas", {}), _request_schema_names(document))
    _prune(document)
    return document


# Replaces flask-smorest's `flask openapi print|write`, which print apispec's output without this finishing pass.
cli = AppGroup("openapi", help="The served OpenAPI document (what GET /openapi.json answers).")


@cli.command("print")
def print_document():
    """Print the served OpenAPI document (JSON)."""
    click.echo(api.document_text())


@cli.command("write")
@click.argument("output_file", type=click.File(mode="w"))
def write_document(output_file):
    """Write the served OpenAPI document (JSON) to a file."""
    click.echo(api.document_text(), file=output_file)
