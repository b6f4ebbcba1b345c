"""The contract's example payloads, made concrete and valid, for the OpenAPI document's examples."""

INSTALLATION = "ari:cloud:ecosystem::installation/5b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
USER = "557058:abcd1234-ef56"
RUN_ID = "run_3f9c0b1e2d4a5b6c7d8e9f00"
HASH = "a" * 64

REQUEST_KEY_BODY: dict = {}
REQUEST_KEY = {"ok": True, "requestKey": "sc_jira_req_Vb3qT0cJm2wK9xY1zA4dF7gH8jL5nP6rS0tU2vW3xY4", "expiresAt": 1735689600}
INSTANCE = {
    "ok": True, "cloudId": INSTALLATION, "installationId": INSTALLATION,
    "siteCloudId": "2f1c4b7e-8a90-4d1b-9c3e-5f6a7b8c9d0e", "status": "active", "credits": 42,
    "apiKeyPrefix": "av_inst_1a2b3c4d5e6f", "updatedAt": 1710000000, "capabilitySet": "capabilityadvanced",
    "licenseActive": True, "activationSource": "forge-license", "devModeActive": False, "billingMode": "forge",
    "siteUrl": "https://tenant.atlassian.net", "installedUsersCount": 17,
}
VSCODE_LINK_BODY = {
    "projectId": "AUTH", "taskId": "AUTH-128", "userAccountId": USER,
    "siteUrlHint": "https://tenant.atlassian.net", "expirationDays": 14,
    "jiraContext": {"title": "Implement auth flow", "descriptionMd": "...", "attachments": [], "images": []},
    "initialTaiDoc": {"version": 1, "task": {"key": "AUTH-128"}},
}
LAUNCH_CODE = "sc_launch_q1W2e3R4t5Y6u7I8o9P0a1S2d3F4g5H6j7K8l9Z0x1C"
VSCODE_LINK = {
    "ok": True, "launchCode": LAUNCH_CODE,
    "vscodeUrl": f"vscode://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-128?code={LAUNCH_CODE}",
    "httpsUrl": f"https://dev.seecodes.com/v1/launch?p=AUTH&t=AUTH-128&c={LAUNCH_CODE}",
    "expiresAt": 1735689600,
}
TASK_PERMIT_BODY = {"projectId": "AUTH", "taskId": "AUTH-128", "userAccountId": USER,
                    "siteUrlHint": "https://tenant.atlassian.net"}
PERMIT = {"ok": True, "cloudId": INSTALLATION, "projectId": "AUTH", "taskId": "AUTH-128",
          "permit": "eyJhbGciOi...", "expiresAt": 1735689600}
LAUNCH_EXCHANGE_BODY = {"code": LAUNCH_CODE, "projectId": "AUTH", "taskId": "AUTH-128"}
TASK_CONTEXT = {"ok": True,
                "context": {"title": "Implement auth flow", "descriptionMd": "...", "attachments": [], "images": []},
                "initialTai": {"version": 1, "task": {"key": "AUTH-128"}}}
PROGRESS_BODY = {
    "ready": ["Protected-route wrapper is live"], "left": ["Callback validation still needs coverage"],
    "progress": "67%", "confidence": "Medium", "risks": ["Identity provider payload may still change"],
    "logs": ["Recent activity summary line"],
}
PROGRESS = {"ok": True, "progress": {"updatedAt": "2026-04-04T12:34:56Z", **PROGRESS_BODY}}
INIT_BODY = {"model": "strict light", "files": ["list.md"]}
INIT = {"ok": True, "runId": RUN_ID, "bucket": "seecodes-runs", "prefix": f"runs/{RUN_ID}/input/",
        "uploads": {"list.md": f"https://api.example.com/storage/runs/{RUN_ID}/input/list.md?signature=..."},
        "uploadMethod": "PUT"}
START_BODY = {"model": "strict light", "userPrompt": "generate change log"}
START = {"ok": True, "runId": RUN_ID, "status": "queued", "estimatedInputTokens": 12456, "estimatedCredits": 37}
RUN_STATUS = {"ok": True, "status": {"status": "succeeded", "updatedAt": "2026-04-04T12:34:56Z",
                                     "resultZipUrl": f"https://api.example.com/storage/runs/{RUN_ID}/result.zip"}}
ACTIVITY_BODY = {
    "windowStartedAt": "2026-04-04T10:00:00.000Z", "windowEndedAt": "2026-04-04T10:15:00.000Z",
    "taskStartedAt": "2026-04-04T08:30:00.000Z", "taskAgeMinutes": 105, "humanActiveMs": 420000,
    "locAdded": 28, "locRemoved": 11, "locTotal": 39, "changedFiles": ["src/auth.ts", "src/routes.tsx"],
    "changedFilesCount": 2, "architectureChange": False, "logicChange": True, "specificationUiChange": False,
}
ACTIVITY = {"ok": True, "stored": True, "timestamp": "2026-04-04T10:15:00.000000Z", "effortUnits": 91}
USAGE = {"ok": True, "items": [{"timestamp": "2026-04-04T12:34:56Z", "type": "task_run", "taskId": "AUTH-128",
                                "projectId": "AUTH", "runId": RUN_ID, "userAccountId": USER, "credits": 5}],
         "nextCursor": None, "availableCredits": 42}
INSTANCE_METRICS_BODY = {"installedUsersCount": 17, "source": "forge-hourly-sync"}
TELEMETRY_BODY = {"events": [{"eventType": "ai.usage", "cloudId": INSTALLATION,
                              "requestId": "1f0d7e2e-5b6a-4c3d-9e8f-0a1b2c3d4e5f", "timestamp": "2026-04-04T12:34:56Z"}]}
TEAM_COMPETITION = {
    "ok": True, "projectId": "AUTH", "startDate": "2026-04-01", "endDate": "2026-04-30",
    "items": [{"source": "snapshot", "projectId": "AUTH", "taskId": "AUTH-128", "userAccountId": USER,
               "timestamp": "2026-04-04T10:15:00.000000Z", "windowStartedAt": "2026-04-04T10:00:00.000000Z",
               "windowEndedAt": "2026-04-04T10:15:00.000000Z", "humanActiveMs": 420000, "locAdded": 28,
               "locRemoved": 11, "locTotal": 39, "changedFiles": ["src/auth.ts", "src/routes.tsx"],
               "changedFilesCount": 2, "architectureChange": False, "logicChange": True,
               "specificationUiChange": False, "effortUnits": 91}],
    "itemsTruncated": False, "totalItems": 1,
    "taskSummaries": [{"projectId": "AUTH", "taskId": "AUTH-128", "source": "snapshot", "effortUnits": 91,
                       "snapshotCount": 1, "runCount": 0, "activeMinutes": 7.0, "linesChanged": 39,
                       "firstActivityAt": "2026-04-04T10:00:00.000000Z",
                       "lastActivityAt": "2026-04-04T10:15:00.000000Z", "contributors": [USER]}],
    "taskSummariesTruncated": False, "totalTaskSummaries": 1,
    "monthBaseline": {"month": "2026-04", "taskCount": 18, "medianEffortUnits": 72},
    "formula": {"version": "v1", "weights": {"activeMinute": 1.8, "locChanged": 0.18, "changedFile": 3,
                                             "architectureBonus": 24, "logicBonus": 14, "specificationUiBonus": 10}},
    "sourceSummary": {"snapshotItems": 124, "taskRunFallbackItems": 12, "vscodeFallbackItems": 5,
                      "fallbackTaskCount": 7},
}
MODELS = {"ok": True, "models": [{"id": "strict light", "name": "strict light", "maxContext": 100000,
                                  "description": "Fast, high-context strict tasks",
                                  "pricing": {"base": 12.5, "per_token": 0.0006}}]}
INDEX_QUERY_BODY = {"items": [{"path": "src/auth.ts", "hash": HASH}]}
_ENTRY = {"hash": HASH, "updatedAt": 1710000000000, "short": "Authentication helper", "detailed": "Longer explainer...",
          "important_symbols": ["AuthGuard"], "dependencies": ["src/session.ts"], "exports": ["AuthGuard"]}
INDEX_QUERY = {"ok": True, "updatedAt": 1710000000000,
               "matches": {"src/auth.ts": {"pathMatched": True, "hashMatchedPath": "src/auth.ts", "entry": _ENTRY}}}
INDEX_UPSERT_BODY = {"entries": {"src/auth.ts": _ENTRY}, "deletePaths": ["src/old-auth.ts"]}
INDEX_UPSERT = {"ok": True, "updatedAt": 1710000000000, "upserted": 1, "deleted": 1, "totalFiles": 340}

ERROR_DETAILS = {
    "telemetry_disabled": "Direct VS Code telemetry ingestion is disabled until an authenticated sender contract "
                          "with replay protection and rate limits is finalized.",
    "request_key_replayed": "This request key was already used.",
    "uploads_incomplete": "Upload these files first: list.md.",
    "insufficient_credits": "This run needs 37 credits; 5 are available.",
    "validation_failed": "The request failed validation.",
    "invalid_json": "The body is not valid JSON.",
    "rate_limited": "Too many attempts; retry in 30 seconds.",
    "Context not found": "No Jira-side context was stored with this task.",
}

CANCEL = {"ok": True, "runId": "run_3f9c0b1e2d4a5b6c7d8e9f00", "status": "cancelled", "refundedCredits": 37}
