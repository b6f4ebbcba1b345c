"""Every error an operation answers is in the document: probes drive each operation into its refusals (missing
and broken credentials, broken bodies and queries, unknown and foreign resources, each route's own states) and
compare every (status, error) observed with the operation's responses and their x-error-codes."""
import ast
from pathlib import Path

import pytest

from seecodes import storage
from seecodes.errors import HTTP_CODES, Unavailable

from ..helpers import REQUEST_KEY, set_installation_status
from .harness import MODEL, PROJECT, TASK, _upload

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
UNKNOWN_RUN = "run_" + "f" * 24
# The query each operation needs to get past validation.
QUERIES = {"getTaskProgress": {"projectId": PROJECT},
           "openLauncher": {"p": PROJECT, "t": TASK, "c": "sc_launch_" + "a" * 43}}
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


class Prober:
    """Sends requests to operations by id, with the credentials the real client would send unless told
    otherwise, and keeps every error answer."""

    def __init__(self, harness, document, app):
        self.harness, self.app, self.client = harness, app, harness.client
        self.operations = {op["operationId"]: (method.upper(), path, op) for path, item in document["paths"].items()
                           for method, op in item.items() if method in HTTP_METHODS}
        self.documented = {name: {int(status): set(response.get("x-error-codes", []))
                                  for status, response in op["responses"].items() if status[0] in "45"}
                           for name, (_, _, op) in self.operations.items()}
        self.observed: dict[str, set[tuple[int, str]]] = {name: set() for name in self.operations}

    def credentials(self, name: str) -> dict:
        from .harness import Harness

        return Harness.credentials(self.harness, _Case(name))

    def path(self, name: str, **values) -> str:
        path = self.operations[name][1]
        values = {"runId": self.harness.run_id, "taskId": TASK, "projectId": PROJECT, **values}
        for key, value in values.items():
            path = path.replace("{" + key + "}", value)
        return path

    def example(self, name: str):
        body = self.operations[name][2].get("requestBody", {}).get("content", {}).get("application/json", {})
        return body.get("example")

    def call(self, name: str, *, headers=None, body=..., data=None, content_type=None, query=None, **path):
        method = self.operations[name][0]
        headers = self.credentials(name) if headers is None else headers
        kwargs = {"headers": headers, "query_string": QUERIES.get(name, {}) if query is None else query}
        if data is not None:
            kwargs.update(data=data, content_type=content_type or "application/json")
        elif method == "POST":
            kwargs["json"] = self.example(name) if body is ... else body
        response = self.client.open(self.path(name, **path), method=method, **kwargs)
        if response.status_code >= 400:
            answer = response.get_json(silent=True) or {}
            self.observed[name].add((response.status_code, answer.get("error", f"<{response.mimetype}>")))
        return response

    def undocumented(self) -> dict:
        return {name: sorted((status, code) for status, code in seen if code not in self.documented[name].get(status, ()))
                for name, seen in self.observed.items()
                if any(code not in self.documented[name].get(status, ()) for status, code in seen)}


class _Case:
    """Just enough of a schemathesis case for Harness.credentials."""

    def __init__(self, operation_id):
        self.operation = type("Operation", (), {"definition": type("Definition", (), {
            "raw": {"operationId": operation_id}})()})()


@pytest.fixture
def prober(harness, document, app):
    return Prober(harness, document, app)


def _probe_credentials(prober: Prober, name: str) -> None:
    jira = {"issueRequestKey"} | {n for n in prober.operations if REQUEST_KEY in prober.credentials(n)}
    prober.call(name, headers={})
    prober.call(name, headers={"Authorization": "Bearer not-a-token"})
    prober.call(name, headers={"Authorization": "Basic abc"})
    if name in jira:
        token = {"Authorization": f"Bearer {prober.harness.forge_token()}"}
        prober.call(name, headers=token)
        prober.call(name, headers={**token, REQUEST_KEY: "sc_jira_req_" + "A" * 43})
        prober.call(name, headers={**token, REQUEST_KEY: "x"})
        prober.call(name, headers=token, query={**QUERIES.get(name, {}), "cloudIdHint": "ari:cloud:other"})
        prober.call(name, headers=token, query={**QUERIES.get(name, {}), "siteUrlHint": "é"})
    elif "Authorization" in prober.credentials(name):
        permit = prober.harness.permit
        prober.call(name, headers={"Authorization": f"Bearer {permit[:-4]}AAAA"})
        prober.call(name, headers={"Authorization": f"Bearer {permit}x"})


def _probe_input(prober: Prober, name: str) -> None:
    method, path, operation = prober.operations[name]
    if method == "POST":
        prober.call(name, data=b"{")
        prober.call(name, data=b"[" * 100 + b"]" * 100)
        prober.call(name, data=b'{"a": 1' + b"0" * 100 + b"}")
        prober.call(name, data=b"hello", content_type="text/plain")
        prober.call(name, data=b"x" * (prober.app.config["MAX_CONTENT_LENGTH"] + 1))
        prober.call(name, body=[])
        prober.call(name, body={"x": "\x00"})
        example = prober.example(name)
        if isinstance(example, dict):
            for field in example:
                prober.call(name, body={**example, field: "\x00"})
                prober.call(name, body={**example, field: {"nested": ["\ud800"]}})
                prober.call(name, body={**example, field: 10 ** 70})
    for parameter in operation.get("parameters", []):
        if parameter["in"] == "query":
            for value in ("\x00", "x" * 5000, "", "-1"):
                prober.call(name, query={**QUERIES.get(name, {}), parameter["name"]: value})
    prober.call(name, query={**QUERIES.get(name, {}), "probe": "\x00"})  # any route, any parameter
    if "{runId}" in path:
        prober.call(name, runId=UNKNOWN_RUN)
        prober.call(name, runId="run_zz")
    if "{taskId}" in path:
        prober.call(name, taskId="OTHER-1")
        prober.call(name, taskId="A%00")
    if "{projectId}" in path:
        prober.call(name, projectId="OTHER")


def _probe_states(prober: Prober, monkeypatch) -> None:
    """Each route's own refusals, by reaching the state that causes them."""
    harness, permit = prober.harness, {"Authorization": f"Bearer {prober.harness.permit}"}
    fresh = prober.client.post("/v1/tasks/init", json={"model": MODEL}, headers=permit).get_json()["runId"]
    prober.call("startRun", runId=fresh)  # nothing uploaded
    prober.call("getRunOutput", runId=fresh)  # not succeeded
    prober.call("startRun", body={"model": "no such model", "userPrompt": "x"})
    prober.call("startRun")
    prober.call("startRun")  # started already
    prober.call("initRun", body={"model": "no such model"})
    prober.call("initRun", body={"model": MODEL, "files": ["../x"]})
    prober.call("getTaskContext")
    prober.call("exchangeLaunchCode", body={"code": "sc_launch_" + "a" * 43, "projectId": PROJECT, "taskId": TASK})
    prober.call("exchangeLaunchCode", body={"code": "bad", "projectId": PROJECT, "taskId": TASK})
    prober.call("createVscodeLink", body={**prober.example("createVscodeLink"), "userAccountId": "someone-else"})
    prober.call("mintTaskPermit", body={**prober.example("mintTaskPermit"), "userAccountId": "someone-else"})
    prober.call("saveActivitySnapshot", body={**prober.example("saveActivitySnapshot"), "taskId": "OTHER-1"})
    prober.call("openLauncher", query={"p": "AUTH\x00", "t": TASK, "c": "sc_launch_" + "a" * 43})
    prober.call("openLauncher", query={"p": "AUTH", "t": TASK, "c": "bad code"})
    prober.call("openLauncher", query={"p": "AUTH", "t": TASK, "c": "sc_launch_" + "a" * 43, "baseUrl": "\x00"})
    monkeypatch.setattr(storage, "ensure_usable", lambda store: (_ for _ in ()).throw(
        Unavailable("The store is down.", code="storage_unavailable")))
    prober.call("initRun")
    monkeypatch.undo()
    _probe_database_down(prober, monkeypatch)
    names = ("getTaskContext", "getRun", "getInstance", "issueRequestKey", "getTaskProgress")
    for status in ("suspended", "uninstalled"):  # an operator's suspension, and Forge's uninstalled event
        prepared = {name: prober.credentials(name) for name in names}  # a key per call, issued while it can be
        set_installation_status(prober.app, harness.tenant["installation_id"], status)
        for name in names:
            prober.call(name, headers=prepared[name])
        set_installation_status(prober.app, harness.tenant["installation_id"], "active")
    prober.call("exchangeLaunchCode", body={"code": "sc_launch_" + "a" * 43, "projectId": PROJECT, "taskId": TASK})


def _probe_database_down(prober: Prober, monkeypatch) -> None:
    from sqlalchemy.exc import OperationalError

    from seecodes.catalog import service as catalog
    from seecodes.extensions import db

    def down(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, ConnectionError("the database is down"))

    monkeypatch.setattr(catalog, "list_models", down)
    prober.call("listModels")
    with prober.app.app_context():
        monkeypatch.setattr(db.session, "execute", down)
        prober.call("getHealth")
    monkeypatch.undo()


def test_every_error_answered_is_documented_for_its_operation(prober, monkeypatch):
    for name in prober.operations:
        _probe_credentials(prober, name)
        _probe_input(prober, name)
    _probe_states(prober, monkeypatch)
    # The probes reach what they are meant to (else the comparison would prove little): init's
    # storage_unavailable, the router's not_found on the run routes, a start with nothing uploaded...
    seen = {name: {code for _, code in codes} for name, codes in prober.observed.items()}
    assert "storage_unavailable" in seen["initRun"]
    assert all("not_found" in seen[name] for name in ("startRun", "getRun", "getRunOutput", "getRunLogs"))
    assert {"uploads_incomplete", "run_already_started", "run_not_found"} <= seen["startRun"]
    assert {"credential_missing", "permit_invalid", "installation_inactive", "installation_uninstalled"} <= seen[
        "getTaskContext"]
    assert {"request_key_missing", "request_key_unknown", "installation_inactive"} <= seen["getInstance"]
    assert {"invalid_json", "unsupported_media_type", "payload_too_large", "validation_failed"} <= seen["initRun"]
    assert [name for name, codes in seen.items() if not codes] == ["getOpenApiDocument"]  # refuses nothing
    assert prober.undocumented() == {}


def test_codes_declared_by_the_guard_and_by_the_route_are_listed_together(document):
    init = document["paths"]["/v1/tasks/init"]["post"]["responses"]
    assert set(init["503"]["x-error-codes"]) == {"service_unavailable", "storage_unavailable"}  # guard and route
    progress = document["paths"]["/v1/tasks/{taskId}/progress"]["get"]["responses"]
    assert {"tenant_mismatch", "installation_inactive", "installation_uninstalled", "permit_binding_mismatch"} == set(
        progress["403"]["x-error-codes"])
    for path in ("/v1/tasks/{runId}", "/v1/tasks/{runId}/start", "/v1/tasks/{runId}/output", "/v1/tasks/{runId}/logs"):
        for operation in (op for method, op in document["paths"][path].items() if method in HTTP_METHODS):
            assert operation["responses"]["404"]["x-error-codes"] == ["run_not_found", "not_found"], path


def test_the_finishing_pass_adds_no_code_and_refuses_an_undeclared_error_status(backend):
    from seecodes.resources import openapi_doc

    declared = {"paths": {"/v1/tasks/context": {"get": {"responses": {
        "200": {"description": "OK"}, "404": {"x-error-codes": ["Context not found"]}}}}}}
    finished = openapi_doc.finish(declared)["paths"]["/v1/tasks/context"]["get"]
    # No path parameter: the app-wide check of path parameters' text adds nothing either.
    assert {status: response["x-error-codes"] for status, response in finished["responses"].items()
            if status != "200"} == {"404": ["Context not found"]}
    assert finished["security"] == []  # no guard declared one
    undeclared = {"paths": {"/v1/tasks/context": {"get": {"responses": {"404": {"description": "Not found"}}}}}}
    with pytest.raises(ValueError, match="404"):
        openapi_doc.finish(undeclared)


ROOT = Path(__file__).resolve().parents[2] / "seecodes"
# Codes of answers outside the document: signed storage URLs, /metrics, /readyz, and the unexpected 500.
OUTSIDE_THE_DOCUMENT = {"storage_url_expired", "storage_url_invalid", "object_not_found", "insufficient_storage",
                        "metrics_disabled",
                        "metrics_token_invalid", "not_ready", "internal_error"}


def _raised_codes() -> set[str]:
    """Every error code the server's source can answer, read from the code: `code="…"` where an error is made,
    `code = "…"` in an error class, envelope(status, "…") calls (the client package is not the server)."""
    found = set()
    for path in ROOT.rglob("*.py"):
        if "client" in path.relative_to(ROOT).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                found |= {k.value.value for k in node.keywords if k.arg == "code" and isinstance(k.value, ast.Constant)}
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name == "envelope" and len(node.args) > 1 and isinstance(node.args[1], ast.Constant):
                    found.add(node.args[1].value)
            elif isinstance(node, ast.ClassDef):
                for statement in node.body:
                    if isinstance(statement, ast.Assign):
                        targets = [t for target in statement.targets
                                   for t in (target.elts if isinstance(target, ast.Tuple) else [target])]
                        values = statement.value.elts if isinstance(statement.value, ast.Tuple) else [statement.value]
                        for target, value in zip(targets, values):
                            if getattr(target, "id", None) == "code" and isinstance(value, ast.Constant):
                                found.add(value.value)
    return found


def test_every_code_the_server_raises_is_documented_and_every_documented_one_is_raised(document):
    documented = {code for item in document["paths"].values() for method, op in item.items()
                  if method in HTTP_METHODS for response in op["responses"].values()
                  for code in response.get("x-error-codes", [])}
    raised = _raised_codes()
    assert {"storage_unavailable", "run_not_found", "answer_too_large", "permit_expired"} <= raised  # it reads them
    # The generic codes of errors.HTTP_CODES (werkzeug's exceptions, the default of a base class such as
    # Conflict) depend on where they are answered: the probes above compare those per operation.
    generic = set(HTTP_CODES.values())
    assert sorted(raised - documented - OUTSIDE_THE_DOCUMENT - generic) == []
    assert sorted(documented - raised - generic) == []
