"""The reference client (SDK and `python -m seecodes.client` CLI); needs only requests, nothing of the server."""
from .errors import (ApiError, BadRequest, Conflict, ConnectionFailed, Forbidden, Gone, InsufficientCredits,
                     LocalRefusal, NotFound, RateLimited, RequestKeyRefused, RequestOutcomeUnknown, RunFailed,
                     RunTimeout, SeeCodesError, ServerError, Unauthorized)
from .indexing import SyncReport
from .jira import JiraClient
from .launch import CodeLedger, LaunchLink, parse_launch_url
from .tasks import Permit, RunResult, TaskClient

__all__ = [
    "ApiError", "BadRequest", "CodeLedger", "Conflict", "ConnectionFailed", "Forbidden", "Gone",
    "InsufficientCredits", "JiraClient", "LaunchLink", "LocalRefusal", "NotFound", "Permit", "RateLimited",
    "RequestKeyRefused", "RequestOutcomeUnknown", "RunFailed", "RunResult", "RunTimeout", "SeeCodesError",
    "ServerError", "SyncReport", "TaskClient", "Unauthorized", "parse_launch_url",
]
