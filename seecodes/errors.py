"""One error envelope for every error: {"ok": false, "error": <code>, "detail": <text>} (422 adds errors)."""
import logging

from flask import jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_credits",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    415: "unsupported_media_type",
    416: "range_not_satisfiable",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


# Every error code the service sends (tests/ops/test_metric_series.py checks the source against it): the
# `code` label of the error metrics takes its values from here, anything else counts as `other`.
ERROR_CODES = frozenset(HTTP_CODES.values()) | {
    "answer_too_large", "Context not found", "credential_missing", "database_unavailable", "forge_token_expired",
    "forge_token_invalid", "input_exceeds_context", "installation_inactive", "invalid_json",
    "launch_code_binding_mismatch", "launch_code_expired", "launch_code_invalid", "launch_code_replayed",
    "metrics_disabled", "metrics_token_invalid", "not_ready", "object_not_found", "permit_binding_mismatch",
    "permit_expired", "permit_invalid", "permit_revoked", "queue_unavailable", "request_key_conflict",
    "request_key_expired", "request_key_missing", "request_key_replayed", "request_key_unknown",
    "run_already_started", "run_not_found", "run_not_succeeded", "storage_unavailable", "storage_url_expired",
    "storage_url_invalid", "telemetry_disabled", "tenant_mismatch", "upload_too_large", "uploads_incomplete",
    "user_mismatch",
    # run data lifetime, run control, full disks, installation lifecycle
    "too_many_open_runs", "run_expired", "run_data_removed", "run_already_settled", "range_not_satisfiable",
    "idempotency_key_invalid", "idempotency_key_reused", "idempotency_key_in_use", "insufficient_storage",
    "installation_uninstalled", "request_key_revoked", "launch_code_revoked", "forge_event_token_required",
}


def metric_code(code: str) -> str:
    """The error code as a metric label: a known code, else `other`."""
    return code if code in ERROR_CODES else "other"


class DomainError(Exception):
    """Raised by service code; carries the HTTP status, a stable code and a human detail."""

    status = 400
    code = "bad_request"

    def __init__(self, detail: str, code: str | None = None, status: int | None = None, headers=None, **extra):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        if status:
            self.status = status
        self.headers = headers or {}
        self.extra = extra


class Unauthorized(DomainError):
    status, code = 401, "unauthorized"


class Forbidden(DomainError):
    status, code = 403, "forbidden"


class NotFound(DomainError):
    status, code = 404, "not_found"


class Conflict(DomainError):
    status, code = 409, "conflict"


class PaymentRequired(DomainError):
    status, code = 402, "insufficient_credits"


class Invalid(DomainError):
    status, code = 422, "validation_failed"


class InvalidJSON(DomainError):
    """A body that is not JSON, cannot be parsed (deep nesting, huge numbers) or is missing."""

    status, code = 400, "invalid_json"


class UnsupportedMediaType(DomainError):
    status, code = 415, "unsupported_media_type"


class RateLimited(DomainError):
    status, code = 429, "rate_limited"


class Unavailable(DomainError):
    status, code = 503, "service_unavailable"


def envelope(status: int, code: str, detail: str, errors=None, **extra):
    # Imported on first use, not for a cycle (prometheus imports nothing of the app): the package imports this
    # module, and seecodes.prometheus fixes prometheus_client's mode when first imported, which must wait until
    # gunicorn.conf.py or the worker has chosen the metrics folder (tests/ops/test_metrics_folder.py).
    from . import prometheus, request_ids

    body = {"ok": False, "error": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    body["requestId"] = request_ids.current()
    prometheus.count_error(status, metric_code(code))
    response = jsonify(body)
    response.status_code = status
    return response


def flatten_validation_messages(messages) -> dict:
    """webargs nests messages per location ({"json": {...}}); clients want field -> messages."""
    if not isinstance(messages, dict):
        return {"_schema": messages if isinstance(messages, list) else [str(messages)]}
    flat = {}
    for location, fields in messages.items():
        if isinstance(fields, dict):
            flat.update(fields)
        else:
            flat[location] = fields
    return _string_keys(flat)


def _string_keys(messages):
    """List item errors are keyed by int index beside str keys such as "_list": JSON wants (sortable) strings."""
    if isinstance(messages, dict):
        return {str(key): _string_keys(value) for key, value in messages.items()}
    return messages


def http_exception_response(error: HTTPException):
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    code = HTTP_CODES.get(status, "error")
    if status in (400, 422) and (data.get("messages") or data.get("errors")):
        errors = flatten_validation_messages(data.get("messages") or data.get("errors"))
        return envelope(status, code, data.get("message") or "The request failed validation.", errors=errors)
    detail = data.get("message") or error.description or code
    response = envelope(status, code, detail)
    if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def domain_error_response(error: DomainError):
    response = envelope(error.status, error.code, error.detail, **error.extra)
    response.headers.extend(error.headers)
    return response


def register_error_handlers(app):
    from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError
    from sqlalchemy.exc import OperationalError, InterfaceError

    app.register_error_handler(DomainError, domain_error_response)
    app.register_error_handler(HTTPException, http_exception_response)

    def dependency_down(error):
        log.warning("dependency unavailable: %s", error.__class__.__name__)
        _rollback_quietly()
        return envelope(503, "service_unavailable", "A backing service (database, Redis or storage) is unavailable.")

    for exc in (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError):
        app.register_error_handler(exc, dependency_down)

    def unexpected(error):
        log.exception("unhandled error")
        _rollback_quietly()
        return envelope(500, "internal_error", "The server hit an unexpected error.")

    app.register_error_handler(Exception, unexpected)


def _rollback_quietly():
    # Through the app, not seecodes.extensions: the error envelope depends on no extension (extensions imports us).
    from flask import current_app

    try:
        current_app.extensions["sqlalchemy"].session.rollback()
    except Exception:  # the connection may be the thing that is down
        pass
