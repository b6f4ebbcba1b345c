"""The contract's example payloads (contract/api-contract.txt), the one place tests take them from.

Names: `<ROUTE>_BODY_EXAMPLE` is a request body verbatim, placeholders and all (fill it with for_tenant());
`<ROUTE>_EXAMPLE` of a POST body route is the body as the tests send it; `..._ANSWER_EXAMPLE` / the answer
examples of GET routes are compared by shape.
"""

# vscode-link's example body with concrete values: the launch every Jira session does.
VSCODE_LINK_EXAMPLE = {
    "projectId": "AUTH",
    "taskId": "AUTH-128",
    "userAccountId": "557058:alice",
    "expirationDays": 14,
    "jiraContext": {"title": "Implement auth flow", "descriptionMd": "...", "attachments": [], "images": []},
    "initialTaiDoc": {"version": 1, "task": {"key": "AUTH-128"}},
}
RUN_INIT_EXAMPLE = {"model": "strict light", "files": ["list.md"]}
RUN_START_EXAMPLE = {"model": "strict light", "userPrompt": "generate change log"}

PROGRESS_EXAMPLE = {
    "ready": ["Protected-route wrapper is live"],
    "left": ["Callback validation still needs coverage"],
    "progress": "67%",
    "confidence": "Medium",
    "risks": ["Identity provider payload may still change"],
    "logs": ["Recent activity summary line"],
}

SNAPSHOT_EXAMPLE = {
    "windowStartedAt": "2026-04-04T10:00:00.000Z",
    "windowEndedAt": "2026-04-04T10:15:00.000Z",
    "taskStartedAt": "2026-04-04T08:30:00.000Z",
    "taskAgeMinutes": 105,
    "humanActiveMs": 420000,
    "locAdded": 28,
    "locRemoved": 11,
    "locTotal": 39,
    "changedFiles": ["src/auth.ts", "src/routes.tsx"],
    "changedFilesCount": 2,
    "architectureChange": False,
    "logicChange": True,
    "specificationUiChange": False,
}
# Formula v1 on the example: 1.8*7 + 0.18*39 + 3*2 + 14 = 39.62 -> 40 (the contract's 91 is illustrative).
SNAPSHOT_EXAMPLE_EFFORT = 40

EXAMPLE_HASH = "a" * 64
UPSERT_EXAMPLE = {
    "entries": {
        "src/auth.ts": {
            "hash": EXAMPLE_HASH,
            "updatedAt": 1710000000000,
            "short": "Authentication helper",
            "detailed": "Longer explainer...",
            "important_symbols": ["AuthGuard"],
            "dependencies": ["src/session.ts"],
            "exports": ["AuthGuard"],
        }
    },
    "deletePaths": ["src/old-auth.ts"],
}
QUERY_EXAMPLE = {"items": [{"path": "src/auth.ts", "hash": EXAMPLE_HASH}]}
INSTANCE_METRICS_EXAMPLE = {"installedUsersCount": 17, "source": "forge-hourly-sync"}
TELEMETRY_EXAMPLE = {
    "events": [{"eventType": "ai.usage", "cloudId": "ari:cloud:ecosystem::installation/...",
                "requestId": "1f0d7e2e-...", "timestamp": "2026-04-04T12:34:56Z"}]
}
TELEMETRY_DETAIL = ("Direct VS Code telemetry ingestion is disabled until an authenticated sender contract with "
                    "replay protection and rate limits is finalized.")
CONTRACT_WEIGHTS = {"activeMinute": 1.8, "locChanged": 0.18, "changedFile": 3, "architectureBonus": 24,
                    "logicBonus": 14, "specificationUiBonus": 10}

# The contract's example payloads, verbatim. Placeholders ("557058:abcd...", "optional") are filled per
# tenant by for_tenant(); the answers are compared by shape (every field, with the example's type).
REQUEST_KEY_BODY_EXAMPLE = {}
REQUEST_KEY_EXAMPLE = {"ok": True, "requestKey": "sc_jira_req_...", "expiresAt": 1735689600}
INSTANCE_EXAMPLE = {
    "ok": True,
    "cloudId": "ari:cloud:ecosystem::installation/...",
    "status": "active",
    "credits": 42,
    "apiKeyPrefix": "av_inst_...",
    "updatedAt": 1710000000,
    "installationId": "ari:cloud:ecosystem::installation/...",
    "capabilitySet": "capabilityadvanced",
    "licenseActive": True,
    "activationSource": "forge-license",
    "devModeActive": False,
    "billingMode": "forge",
    "siteUrl": "https://tenant.atlassian.net",
}
VSCODE_LINK_BODY_EXAMPLE = {
    "projectId": "AUTH",
    "taskId": "AUTH-128",
    "userAccountId": "557058:abcd...",
    "cloudIdHint": "optional",
    "siteUrlHint": "https://tenant.atlassian.net",
    "expirationDays": 14,
    "jiraContext": {"...": "optional task context"},
    "initialTaiDoc": {"...": "optional editor boot state"},
}
VSCODE_LINK_ANSWER_EXAMPLE = {
    "ok": True,
    "launchCode": "sc_launch_...",
    "vscodeUrl": "vscode://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-128?code=sc_launch_...",
    "httpsUrl": "https://dev.seecodes.com/v1/launch?p=AUTH&t=AUTH-128&c=sc_launch_...",
    "expiresAt": 1735689600,
}
TASK_PERMIT_BODY_EXAMPLE = {
    "projectId": "AUTH",
    "taskId": "AUTH-128",
    "userAccountId": "557058:abcd...",
    "cloudIdHint": "optional",
    "siteUrlHint": "https://tenant.atlassian.net",
}
PERMIT_EXAMPLE = {
    "ok": True,
    "cloudId": "ari:cloud:ecosystem::installation/...",
    "projectId": "AUTH",
    "taskId": "AUTH-128",
    "permit": "eyJhbGciOi...",
    "expiresAt": 1735689600,
}
LAUNCH_EXCHANGE_BODY_EXAMPLE = {"code": "sc_launch_...", "projectId": "AUTH", "taskId": "AUTH-128"}
CONTEXT_EXAMPLE = {
    "ok": True,
    "context": {"title": "Implement auth flow", "descriptionMd": "...", "attachments": [], "images": []},
    "initialTai": {"version": 1, "task": {"...": "..."}},
}
CONTEXT_NOT_FOUND = {"ok": False, "error": "Context not found"}
HEALTH_EXAMPLE = {"ok": True}
MODELS_EXAMPLE = {
    "ok": True,
    "models": [
        {
            "id": "strict light",
            "name": "strict light",
            "maxContext": 100000,
            "description": "Fast, high-context strict tasks",
            "pricing": {"base": 12.5, "per_token": 0.0006},
        }
    ],
}
# Bodies of the permit routes (the contract's examples) for the table-driven permit tests.
PERMIT_ROUTE_BODIES = {
    "/v1/tasks/<string:taskId>/progress": PROGRESS_EXAMPLE,
    "/v1/tasks/init": RUN_INIT_EXAMPLE,
    "/v1/tasks/<run_id:runId>/start": RUN_START_EXAMPLE,
    "/v1/tasks/activity-snapshot": SNAPSHOT_EXAMPLE,
    "/v1/projects/<string:projectId>/indexes/query": QUERY_EXAMPLE,
    "/v1/projects/<string:projectId>/indexes/upsert": UPSERT_EXAMPLE,
}

# The 24 route-methods of the contract.

CONTRACT_ROUTES = {
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("POST", "/v1/jira/request-key"),
    ("GET", "/v1/instances/me"),
    ("POST", "/v1/security/vscode-link"),
    ("POST", "/v1/security/task-permit"),
    ("POST", "/v1/security/launch-exchange"),
    ("GET", "/v1/tasks/context"),
    ("GET", "/v1/launch"),
    ("POST", "/v1/tasks/{taskId}/progress"),
    ("GET", "/v1/tasks/{taskId}/progress"),
    ("POST", "/v1/tasks/init"),
    ("POST", "/v1/tasks/{runId}/start"),
    ("GET", "/v1/tasks/{runId}"),
    ("GET", "/v1/tasks/{runId}/output"),
    ("GET", "/v1/tasks/{runId}/logs"),
    ("POST", "/v1/tasks/activity-snapshot"),
    ("GET", "/v1/jira/usage"),
    ("POST", "/v1/jira/instance-metrics"),
    ("POST", "/v1/jira/telemetry/events"),
    ("GET", "/v1/jira/team-competition"),
    ("GET", "/v1/models"),
    ("POST", "/v1/projects/{projectId}/indexes/query"),
    ("POST", "/v1/projects/{projectId}/indexes/upsert"),
}# What DESIGN.md ("Beyond the contract") adds to the 24 route-methods.
BEYOND_THE_CONTRACT_ROUTES = {
    ("POST", "/v1/tasks/{runId}/cancel"),
    ("POST", "/v1/forge/events"),
}

