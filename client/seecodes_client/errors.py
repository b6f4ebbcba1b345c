"""Exceptions of the SeeCodes client: one class per kind of outcome, each carrying the error envelope."""
from __future__ import annotations

from typing import Any

REQUEST_KEY_ERRORS = frozenset({"request_key_replayed", "request_key_expired", "request_key_unknown"})


class SeeCodesError(Exception):
    """Base of every client exception.

    ``code`` is the envelope's stable ``error`` code (or a client-side code such as
    ``connection_failed``), ``detail`` its human text, ``status`` the HTTP status (None when no answer
    arrived), ``request_id`` the server's request id (``X-Request-ID`` or the body's ``requestId``)
    when it sent one, ``errors`` the field -> messages map of a 422.
    """

    def __init__(self, detail: str, *, code: str = "error", status: int | None = None,
                 request_id: str | None = None, errors: dict | None = None, body: Any = None,
                 method: str | None = None, url: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.status = status
        self.request_id = request_id
        self.errors = errors
        self.body = body
        self.method = method
        self.url = url

    def __str__(self) -> str:
        parts = [f"{self.code}: {self.detail}"]
        if self.status is not None:
            parts.append(f"(HTTP {self.status})")
        if self.request_id:
            parts.append(f"[request {self.request_id}]")
        return " ".join(parts)

    def to_dict(self) -> dict:
        """The envelope shape, for ``--json`` output and logs."""
        document = {"ok": False, "error": self.code, "detail": self.detail, "status": self.status,
                    "requestId": self.request_id}
        if self.errors:
            document["errors"] = self.errors
        return document


class LocalRefusal(SeeCodesError):
    """The client refused to send a request (a launch code already exchanged, a bad launch URL, no permit)."""


class ConnectionFailed(SeeCodesError):
    """No answer arrived: connection refused, reset or timed out.

    ``sent`` is False when no connection was made (refused, unresolvable, connect timeout): the request
    certainly did not run. Otherwise it may or may not have run.
    """

    sent: bool = True


class RequestOutcomeUnknown(ConnectionFailed):
    """A non-idempotent request was sent but its answer was lost: it may have taken effect.

    The client does not retry it (that could act twice). For Jira routes the chain's key is discarded
    and the next call bootstraps a new one; see docs/security.md, "Recovering from lost answers".
    """


class ApiError(SeeCodesError):
    """The server answered with an error envelope (status >= 400)."""


class BadRequest(ApiError):
    """400, 413 or 422: the request itself was refused (``errors`` holds field -> messages on 422)."""


class Unauthorized(ApiError):
    """401: missing, expired, replayed, revoked or unknown credential."""


class RequestKeyRefused(Unauthorized):
    """401 ``request_key_replayed`` / ``request_key_expired`` / ``request_key_unknown`` even after one
    fresh bootstrap and retry."""


class InsufficientCredits(ApiError):
    """402: not enough credits for the run's estimate."""


class Forbidden(ApiError):
    """403: the credential is valid but bound to another tenant, user, project or task."""


class NotFound(ApiError):
    """404."""


class Conflict(ApiError):
    """409: a state conflict (run already started, uploads missing, run not succeeded)."""


class Gone(ApiError):
    """410: the disabled telemetry route."""


class RateLimited(ApiError):
    """429; ``retry_after`` is the server's Retry-After in seconds, when sent."""

    retry_after: float | None = None


class ServerError(ApiError):
    """5xx: the server or one of its dependencies failed (also: an answer the client cannot accept, such as a
    permit bound to another task than the link's)."""


class RedirectRefused(ApiError):
    """The backend answered a redirect (3xx). The client never follows one with a credential: the permit,
    a Forge token or a request key would go wherever the ``Location`` points."""


class RunFailed(SeeCodesError):
    """A run ended ``failed``; ``run_id`` names it and ``detail`` is the run's ``error``."""

    def __init__(self, run_id: str, detail: str, **kwargs):
        super().__init__(detail, code="run_failed", **kwargs)
        self.run_id = run_id


class RunTimeout(SeeCodesError):
    """A run did not settle within the caller's time limit (it may still finish; poll it later)."""

    def __init__(self, run_id: str, detail: str):
        super().__init__(detail, code="run_timeout")
        self.run_id = run_id


_BY_STATUS = {400: BadRequest, 401: Unauthorized, 402: InsufficientCredits, 403: Forbidden, 404: NotFound,
              409: Conflict, 410: Gone, 413: BadRequest, 422: BadRequest, 429: RateLimited}


def error_class(status: int, code: str) -> type[ApiError]:
    """The exception class for an error answer."""
    if status == 401 and code in REQUEST_KEY_ERRORS:
        return RequestKeyRefused
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
