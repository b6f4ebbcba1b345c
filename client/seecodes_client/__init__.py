"""The SeeCodes reference client: the SDK and the `seecodes` CLI; needs only requests, nothing of the server."""
from .errors import (ApiError, BadRequest, Conflict, ConnectionFailed, Forbidden, Gone, InsufficientCredits,
                     LocalRefusal, NotFound, RateLimited, RedirectRefused, RequestKeyRefused, RequestOutcomeUnknown,
                     RunFailed, RunTimeout, SeeCodesError, ServerError, Unauthorized)
from .indexing import SyncReport
from .jira import JiraClient
from .launch import CodeLedger, LaunchLink, parse_launch_url
from .tasks import Permit, RunResult, TaskClient
from .trust import choose_backend

__all__ = [
    "ApiError", "BadRequest", "CodeLedger", "Conflict", "ConnectionFailed", "Forbidden", "Gone",
    "InsufficientCredits", "JiraClient", "LaunchLink", "LocalRefusal", "NotFound", "Permit", "RateLimited",
    "RedirectRefused", "RequestKeyRefused", "RequestOutcomeUnknown", "RunFailed", "RunResult", "RunTimeout", "SeeCodesError",
    "ServerError", "SyncReport", "TaskClient", "Unauthorized", "choose_backend", "parse_launch_url",
]
