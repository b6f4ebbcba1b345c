"""X-Request-ID: taken from a trusted proxy or generated, echoed on every response, carried into log lines and jobs."""
import contextlib
import contextvars
import re
import uuid

from flask import Flask, request

HEADER = "X-Request-ID"
# What we accept from a proxy: short and printable, so it cannot forge log lines or smuggle a credential's length.
ACCEPTED = re.compile(r"[A-Za-z0-9._:@-]{1,128}")

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("seecodes_request_id", default=None)


def current() -> str | None:
    """The request id bound to this request, job or thread (None outside any)."""
    return _current.get()


def new() -> str:
    return uuid.uuid4().hex


def choose(presented: str | None, trust_proxy: bool) -> str:
    """A proxy's id when the proxy is trusted and the id is well formed, else a fresh one."""
    if trust_proxy and presented and ACCEPTED.fullmatch(presented):
        return presented
    return new()


@contextlib.contextmanager
def bound(request_id: str | None):
    """Bind an id for the duration of a job (or any unit of work outside a request)."""
    token = _current.set(request_id)
    try:
        yield request_id
    finally:
        _current.reset(token)


def bind_from_current_job() -> None:
    """In an RQ work horse: bind the id that the web request stored in the job's meta (one job per horse)."""
    from rq import get_current_job

    job = get_current_job()
    if job is not None:
        _current.set((job.meta or {}).get("request_id"))


def register(app: Flask) -> None:
    trust_proxy = app.config["SEECODES_TRUSTED_PROXIES"] > 0

    @app.before_request
    def _bind_request_id():
        request.environ["seecodes.request_id_token"] = _current.set(choose(request.headers.get(HEADER), trust_proxy))

    @app.after_request
    def _echo_request_id(response):
        request_id = current()
        if request_id:
            response.headers[HEADER] = request_id
            # gunicorn's access log reads the id from here after the response is sent.
            request.environ["seecodes.request_id"] = request_id
        return response

    @app.teardown_request
    def _unbind_request_id(_error=None):
        token = request.environ.pop("seecodes.request_id_token", None)
        if token is not None:
            try:
                _current.reset(token)
            except ValueError:  # reset from another context (should not happen); clear instead
                _current.set(None)
