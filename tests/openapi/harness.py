"""Drives fuzzed cases as the real clients authenticate: Forge tokens, a fresh request key per call, a task permit."""
import re
import uuid
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from schemathesis import GenerationMode

from ..helpers import NEXT_KEY, REQUEST_KEY, VSCODE_LINK_EXAMPLE

PROJECT, TASK = "AUTH", "AUTH-128"
MODEL = "strict light"
JIRA_OPERATIONS = {"getInstance", "createVscodeLink", "mintTaskPermit", "getUsage", "reportInstanceMetrics",
                   "getTeamCompetition"}
PERMIT_OPERATIONS = {"getTaskContext", "saveTaskProgress", "getTaskProgress", "initRun", "startRun", "getRun",
                     "getRunOutput", "getRunLogs", "saveActivitySnapshot", "queryProjectIndex", "upsertProjectIndex"}


def _upload(client, url: str, data: bytes):
    parts = urlsplit(url)
    return client.put(parts.path + ("?" + parts.query if parts.query else ""), data=data)


class Harness:
    """One tenant: its Forge signer, a launch-exchanged permit and a run with its input uploaded."""

    def __init__(self, client, signer, tenant):
        self.client, self.signer, self.tenant = client, signer, tenant
        self.issued_keys: set[str] = set()
        self.permit = self._launch()
        self.run_id = self._init_run()
        self.runs = {self.run_id}
        self.calls: list[tuple[str, int, bool]] = []  # (operationId, status, on a run created by a fuzzed initRun)

    def forge_token(self) -> str:
        """A fresh token per call, as Forge mints one per invocation."""
        return self.signer.token(self.tenant["installation_id"], self.tenant["cloud_id"], self.tenant["principal"])

    def request_key(self) -> str:
        """A new chain (its own sessionId) per call: no fuzzed call can spend another's key."""
        response = self.client.post("/v1/jira/request-key", json={"sessionId": f"fuzz-{uuid.uuid4().hex}"},
                                    headers={"Authorization": f"Bearer {self.forge_token()}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        key = response.get_json()["requestKey"]
        self.issued_keys.add(key)
        return key

    def _launch(self) -> str:
        headers = {"Authorization": f"Bearer {self.forge_token()}", REQUEST_KEY: self.request_key()}
        body = {**VSCODE_LINK_EXAMPLE, "projectId": PROJECT, "taskId": TASK, "userAccountId": self.tenant["principal"]}
        link = self.client.post("/v1/security/vscode-link", json=body, headers=headers)
        assert link.status_code == 200 and link.headers[NEXT_KEY], link.get_data(as_text=True)
        exchange = self.client.post("/v1/security/launch-exchange", json={
            "code": link.get_json()["launchCode"], "projectId": PROJECT, "taskId": TASK})
        assert exchange.status_code == 200, exchange.get_data(as_text=True)
        return exchange.get_json()["permit"]

    def _init_run(self) -> str:
        response = self.client.post("/v1/tasks/init", json={"model": MODEL, "files": ["list.md"]},
                                    headers={"Authorization": f"Bearer {self.permit}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        answer = response.get_json()
        assert _upload(self.client, answer["uploads"]["list.md"], b"# Tasks\n- fuzz\n").status_code < 300
        return answer["runId"]

    # -- per case -------------------------------------------------------------------------------------------

    def credentials(self, case) -> dict:
        """The headers the real client sends for this operation (an empty dict for public ones)."""
        operation_id = case.operation.definition.raw.get("operationId")
        if operation_id == "issueRequestKey":
            return {"Authorization": f"Bearer {self.forge_token()}"}
        if operation_id in JIRA_OPERATIONS:
            return {"Authorization": f"Bearer {self.forge_token()}", REQUEST_KEY: self.request_key()}
        if operation_id in PERMIT_OPERATIONS:
            return {"Authorization": f"Bearer {self.permit}"}
        return {}

    def auth_provider(self):
        """A schemathesis auth provider, so that its missing/invalid-auth probes know what the credential is."""
        harness = self

        class ClientCredentials:
            def get(self, case, context):
                return harness.credentials(case) or None

            def set(self, case, data, context):
                headers = dict(case.headers or {})
                headers.update(data)
                if REQUEST_KEY not in data:
                    headers.pop(REQUEST_KEY, None)  # getTaskProgress with a permit: the permit path
                case.headers = headers

        return ClientCredentials

    def authenticate(self, case) -> None:
        """What the auth provider does, for cases that did not come through it."""
        credentials = self.credentials(case)
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if REQUEST_KEY not in credentials:
            headers.pop(REQUEST_KEY, None)
        case.headers = {**headers, **credentials}
        case._has_explicit_auth = bool(credentials)  # schemathesis's own marker: these are real credentials

    def prepare(self, case) -> None:
        """A key we issued at generation time is swapped for a fresh one now (chains may be capped and superseded
        in between); positive cases also get the rules that no schema can say."""
        operation_id = case.operation.definition.raw.get("operationId")
        if case.headers and case.headers.get(REQUEST_KEY) in self.issued_keys:
            case.headers[REQUEST_KEY] = self.request_key()
        if case.meta is None or case.meta.generation.mode == GenerationMode.POSITIVE:
            _repair(self, operation_id, case)

    def observe(self, case, response) -> None:
        operation_id = case.operation.definition.raw.get("operationId")
        run_id = (case.path_parameters or {}).get("runId")
        self.calls.append((operation_id, response.status_code, run_id not in (None, self.run_id) and run_id in self.runs))
        if operation_id == "initRun" and case.method.upper() == "POST" and response.status_code == 200:
            self.runs.add(response.json()["runId"])


def _repair(harness: Harness, operation_id: str, case) -> None:
    """Cross-field rules (documented in the descriptions) that JSON Schema cannot express."""
    body = case.body if isinstance(case.body, dict) else None
    path = case.path_parameters if case.path_parameters is not None else {}
    if "runId" in path and path["runId"] not in harness.runs:
        path["runId"] = harness.run_id
    if operation_id in ("saveTaskProgress", "getTaskProgress") and "taskId" in path:
        path["taskId"] = TASK
    if operation_id == "getTaskProgress" and case.query is not None and "projectId" in case.query:
        case.query["projectId"] = PROJECT
    if "projectId" in path:
        path["projectId"] = PROJECT
    if case.headers and "Idempotency-Key" in case.headers and operation_id in ("initRun", "startRun", "cancelRun"):
        # A real client makes a new key per new request (a repeated key with another body is the documented 422).
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    if operation_id == "initRun" and body is not None:
        body["model"] = MODEL
    if operation_id == "startRun" and body is not None and body.get("model") is not None:
        body["model"] = MODEL
    if operation_id == "saveActivitySnapshot" and body is not None:
        _repair_window(body)
    if operation_id == "getTeamCompetition" and case.query:
        _repair_range(case.query)
    if operation_id == "queryProjectIndex" and body is not None and isinstance(body.get("items"), list):
        seen, unique = set(), []
        for item in body["items"]:
            if isinstance(item, dict) and item.get("path") not in seen:
                seen.add(item.get("path"))
                unique.append(item)
        body["items"] = unique
    if operation_id == "upsertProjectIndex" and body is not None:
        if isinstance(body.get("entries"), dict):
            # The key rules (x-propertyNames: OpenAPI 3.0 has no propertyNames) are not generated by: apply them.
            body["entries"] = {key: value for key, value in body["entries"].items() if _is_index_path(key)}
        entries = body.get("entries") or {}
        body["deletePaths"] = [p for p in body.get("deletePaths") or [] if p not in entries]


def _is_index_path(key: str) -> bool:
    from seecodes.resources.openapi_doc import _PATH_RULES

    return 1 <= len(key) <= _PATH_RULES["maxLength"] and re.fullmatch(_PATH_RULES["pattern"], key) is not None


def _parse(value):
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _repair_window(body: dict) -> None:
    started = _parse(body.get("windowStartedAt"))
    if started is None or started.tzinfo is None:
        return
    if started.year >= 9998:
        started = started.replace(year=2026)
        body["windowStartedAt"] = started.isoformat()
    ended = _parse(body.get("windowEndedAt"))
    if ended is None or ended.tzinfo is None or not timedelta(0) < ended - started <= timedelta(hours=24):
        ended = started + timedelta(minutes=15)
        body["windowEndedAt"] = ended.astimezone(timezone.utc).isoformat()
    window_ms = int((ended - started) / timedelta(milliseconds=1))
    if isinstance(body.get("humanActiveMs"), int) and body["humanActiveMs"] > window_ms:
        body["humanActiveMs"] = window_ms


def _repair_range(query: dict) -> None:
    """Only startDate -> to the current month's end: keep it in this month; both -> a one-day range."""
    start, end = query.get("startDate"), query.get("endDate")
    if start and end:
        query["endDate"] = start
    elif start:
        query["startDate"] = datetime.now(timezone.utc).date().replace(day=1).isoformat()
