"""HTTP plumbing shared by the clients: a requests.Session, timeouts, error answers turned into exceptions."""
from __future__ import annotations

from typing import Any, Iterator, Mapping
from urllib.parse import quote

import requests

from . import errors
from .trust import check_backend_url

USER_AGENT = "seecodes-client/1"
REQUEST_ID_HEADER = "X-Request-ID"
DEFAULT_TIMEOUT = 30.0
CHUNK_BYTES = 64 * 1024
MAX_ERROR_BYTES = 64 * 1024
# Answers that may come from a proxy after the backend did the work: without the backend's envelope the
# outcome of a write is unknown.
GATEWAY_STATUSES = frozenset({502, 503, 504})


def path_segment(value: str) -> str:
    """One URL path segment: ids such as ``AUTH-128`` travel unchanged, anything else is escaped."""
    return quote(value, safe="")


def request_id_of(response: requests.Response, body: Any = None) -> str | None:
    """The server's request id: the ``X-Request-ID`` header, else the body's ``requestId``."""
    found = response.headers.get(REQUEST_ID_HEADER)
    if not found and isinstance(body, dict) and isinstance(body.get("requestId"), str):
        found = body["requestId"]
    return found or None


def _never_connected(error: requests.RequestException) -> bool:
    """True when the request cannot have reached the server (no connection was made)."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return type(reason).__name__ in ("NewConnectionError", "NameResolutionError")


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def is_envelope(response: requests.Response) -> bool:
    """True when the answer is the backend's own error envelope (not, say, a proxy's HTML error page)."""
    body = _json_or_none(response)
    return isinstance(body, dict) and body.get("ok") is False and "error" in body


def _read_bounded(response: requests.Response) -> None:
    """Read at most MAX_ERROR_BYTES of a streamed, unread error answer (an envelope is small; a hostile or
    broken server's error page need not be)."""
    if response._content is not False:  # already read (not streamed)
        return
    body = b""
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            body += chunk
            if len(body) >= MAX_ERROR_BYTES:
                break
    except requests.RequestException:
        pass
    finally:
        response.close()
    response._content = body[:MAX_ERROR_BYTES]


def is_lost_answer(response: requests.Response) -> bool:
    """A gateway's 502/503/504 page instead of the backend's answer: the request may have run."""
    return response.status_code in GATEWAY_STATUSES and not is_envelope(response)


def error_from(response: requests.Response) -> errors.ApiError:
    """The exception for an error answer, carrying the envelope's code, detail, status and request id."""
    _read_bounded(response)
    body = _json_or_none(response)
    if isinstance(body, dict) and "error" in body:
        code = str(body.get("error"))
        detail = str(body.get("detail") or code)
        field_errors = body.get("errors") if isinstance(body.get("errors"), dict) else None
    else:
        code = f"http_{response.status_code}"
        detail = (response.text or response.reason or code).strip()[:300]
        field_errors = None
    cls = errors.error_class(response.status_code, code)
    error = cls(detail, code=code, status=response.status_code, request_id=request_id_of(response, body),
                errors=field_errors, body=body, method=response.request.method if response.request else None,
                url=response.url)
    if isinstance(error, errors.RateLimited):
        try:
            error.retry_after = float(response.headers.get("Retry-After", ""))
        except ValueError:
            error.retry_after = None
    return error


class Transport:
    """Sends requests to one backend base URL (which may carry a path prefix)."""

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT, session: requests.Session | None = None):
        check_backend_url(base_url)
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def send(self, method: str, path: str, *, headers: Mapping[str, str] | None = None,
             params: Mapping[str, Any] | None = None, json: Any = None, data: Any = None, files: Any = None,
             timeout: float | None = None, stream: bool = False) -> requests.Response:
        """One HTTP exchange; raises ConnectionFailed when no answer arrives.

        A request to the backend (a path) never follows a redirect: it carries a permit, a Forge token or a
        request key, and a redirect would hand them to whatever host the ``Location`` names (requests
        strips only ``Authorization`` on a change of host). A 3xx answer raises ``RedirectRefused``.
        Presigned storage URLs (absolute, no credential of ours) follow redirects as usual.
        """
        url = self.url(path)
        follow = path.startswith(("http://", "https://"))
        clean_params = {k: v for k, v in (params or {}).items() if v is not None} or None
        try:
            response = self.session.request(method, url, headers=dict(headers or {}), params=clean_params,
                                            json=json, data=data, files=files, timeout=timeout or self.timeout,
                                            allow_redirects=follow, stream=stream)
        except requests.RequestException as error:
            failure = errors.ConnectionFailed(f"No answer from {url}: {error.__class__.__name__}: {error}",
                                              code="connection_failed", method=method, url=url)
            failure.sent = not _never_connected(error)
            raise failure from error
        if not follow and 300 <= response.status_code < 400 and response.status_code != 304:
            location = response.headers.get("Location", "")
            response.close()
            raise errors.RedirectRefused(
                f"The backend answered {response.status_code} redirecting to {location or '(no Location)'}; the "
                "client does not follow a redirect with its credentials. Check the backend URL.",
                code="redirect_refused", status=response.status_code, request_id=request_id_of(response),
                method=method, url=url)
        return response

    @staticmethod
    def iter_body(response: requests.Response, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The body of a streamed answer in chunks (memory stays bounded whatever its size)."""
        try:
            for chunk in response.iter_content(chunk_size):
                if chunk:
                    yield chunk
        except requests.RequestException as error:
            raise errors.ConnectionFailed(f"The answer from {response.url} broke off: {error.__class__.__name__}: "
                                          f"{error}", code="connection_failed", url=response.url) from error
        finally:
            response.close()

    @staticmethod
    def check(response: requests.Response) -> requests.Response:
        if response.status_code >= 400:
            raise error_from(response)
        return response

    @staticmethod
    def document(response: requests.Response) -> dict:
        """The JSON object of a successful answer."""
        Transport.check(response)
        body = _json_or_none(response)
        if not isinstance(body, dict):
            raise errors.ServerError("The server answered something that is not a JSON object.",
                                     code="unexpected_answer", status=response.status_code,
                                     request_id=request_id_of(response))
        return body

    def get_json(self, path: str, **kwargs) -> dict:
        return self.document(self.send("GET", path, **kwargs))

    def post_json(self, path: str, body: Any, **kwargs) -> dict:
        return self.document(self.send("POST", path, json=body, **kwargs))


class PublicRoutes:
    """Routes that need no credential, shared by both clients."""

    transport: Transport

    def health(self) -> dict:
        """``GET /healthz``."""
        return self.transport.get_json("/healthz")

    def models(self) -> list[dict]:
        """``GET /v1/models``: the model catalog (id, name, maxContext, description, pricing)."""
        return self.transport.get_json("/v1/models")["models"]

    def openapi(self) -> dict:
        """``GET /openapi.json``."""
        return self.transport.get_json("/openapi.json")
