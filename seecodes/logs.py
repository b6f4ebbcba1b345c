"""Log lines for the app, gunicorn and the worker: JSON or text, with the request id, and never a credential."""
import logging
import os
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from . import request_ids, settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
JSON_FIELDS = ["levelname", "name", "message", "request_id"]
JSON_RENAMES = {"levelname": "level", "name": "logger"}
REDACTED = "[redacted]"
QUIET_LIBRARIES = ("botocore", "boto3", "urllib3", "s3transfer")

# user:password@ in any URL (DATABASE_URL, REDIS_URL, S3_ENDPOINT_URL, a provider's base URL): the password
# becomes ***, the user and host stay so the line still says where.
_URL_CREDENTIALS = re.compile(r"(://[^/\s:@]*:)[^@/\s]+@")


def mask_url_credentials(text: str) -> str:
    """The one masking of URL credentials: every log line (RedactingFilter), `flask doctor`'s table."""
    return _URL_CREDENTIALS.sub(r"\1***@", text) if "@" in text else text


# What a credential looks like wherever it may appear in a line (URLs, headers, messages), each with a
# substring the line must contain for the pattern to apply (a cheap test first: this runs on every line).
_PATTERNS = [
    # launch codes and request keys: keep the prefix so the line still says what was there
    ("sc_", re.compile(r"(sc_launch_|sc_jira_req_)[A-Za-z0-9_-]+"), r"\1" + REDACTED),
    # query parameters that carry a credential: launcher code, storage signatures, S3 presigned URLs; a bare
    # query string (gunicorn's query atom) starts with its first parameter
    ("=", re.compile(r"(?i)((?:^|[?&;])(?:c|code|sig|signature|permit|token|access_token|key|x-amz-signature|"
                     r"x-amz-credential|x-amz-security-token|awsaccesskeyid)=)[^&\s\"']*"), r"\1" + REDACTED),
    # bearer credentials in headers or messages (Forge tokens, permits, provider keys)
    ("", re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1" + REDACTED),
    # signed tokens: JWTs (Forge) and itsdangerous permits are three dot-separated base64url parts
    (".", re.compile(r"[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}"), REDACTED),
    # OpenAI-style API keys
    ("sk-", re.compile(r"\bsk-[A-Za-z0-9_-]{8,}"), "sk-" + REDACTED),
    ("@", _URL_CREDENTIALS, r"\1***@"),
]
# Secret values known to this process; any of them in a line is replaced literally.
SECRET_VARIABLES = ("SEECODES_SECRET_KEY", "SEECODES_AI_API_KEY", "SEECODES_METRICS_TOKEN", "AWS_SECRET_ACCESS_KEY",
                    "AWS_SESSION_TOKEN")


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    if len(text) < 8:
        return text
    for secret in secrets:
        if secret and len(secret) >= 8 and secret in text:
            text = text.replace(secret, REDACTED)
    for needle, pattern, replacement in _PATTERNS:
        if needle in text:
            text = pattern.sub(replacement, text)
    return text


def known_secrets(environ=os.environ) -> tuple[str, ...]:
    names = list(SECRET_VARIABLES) + [name for name in environ if name.endswith("_API_KEY")]
    return tuple(environ[name] for name in names if environ.get(name))


class RedactingFilter(logging.Filter):
    """Rewrites the record's message (and traceback text) with every credential replaced."""

    def __init__(self, secrets: tuple[str, ...] | None = None):
        super().__init__()
        self.secrets = known_secrets() if secrets is None else secrets

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the formatter's own error path
            return True
        record.msg, record.args = redact(message, self.secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            # formatters re-render exc_info when present; the redacted text is all they may see
            record.exc_text, record.exc_info = redact(record.exc_text, self.secrets), None
        return True


class RequestIdFilter(logging.Filter):
    """Adds the bound request id (or "-") to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_ids.current() or "-"
        return True


def log_format(environ=os.environ) -> str:
    """json or text: SEECODES_LOG_FORMAT, else json in production (DATABASE_URL is PostgreSQL), else text."""
    chosen = (environ.get("SEECODES_LOG_FORMAT") or "").strip().lower()
    if chosen in ("json", "text"):
        return chosen
    return "json" if (environ.get("DATABASE_URL") or "").startswith("postgres") else "text"


def formatter(fmt: str | None = None) -> logging.Formatter:
    if (fmt or log_format()) == "json":
        # "time": ISO 8601 in UTC, from the record's creation
        return JsonFormatter(JSON_FIELDS, rename_fields=JSON_RENAMES, timestamp="time")
    return logging.Formatter(TEXT_FORMAT)


def decorate(handler: logging.Handler, fmt: str | None = None) -> logging.Handler:
    """Our formatter and filters on a handler (idempotent)."""
    handler.setFormatter(formatter(fmt))
    for kind in (RequestIdFilter, RedactingFilter):
        if not any(isinstance(existing, kind) for existing in handler.filters):
            handler.addFilter(kind())
    return handler


def echo(message: str, logger: str = "seecodes.cli", fmt: str | None = None) -> None:
    """A CLI command's line on stdout: as it is in text mode, one JSON log object in JSON mode (`make run` and
    `make worker` print the seed's line while starting, and a collector parses every line)."""
    import click

    if (fmt or log_format()) != "json":
        click.echo(message)
        return
    record = logging.LogRecord(logger, logging.INFO, __file__, 0, message, None, None)
    for kind in (RequestIdFilter, RedactingFilter):
        kind().filter(record)
    click.echo(formatter("json").format(record))


def configure(level: str | None = None, fmt: str | None = None) -> None:
    """One stderr handler on the root logger, unless the host (a test runner, an embedding app) set up its own."""
    root = logging.getLogger()
    ours = [handler for handler in root.handlers if getattr(handler, "_seecodes", False)]
    if root.handlers and not ours:
        return
    for handler in ours:
        root.removeHandler(handler)
    handler = decorate(logging.StreamHandler(sys.stderr), fmt)
    handler._seecodes = True
    root.addHandler(handler)
    root.setLevel(level or settings.bootstrap("SEECODES_LOG_LEVEL"))
    for chatty in QUIET_LIBRARIES:  # their INFO lines (credential discovery, connection pools) are noise here
        logging.getLogger(chatty).setLevel(logging.WARNING)


try:
    from gunicorn.glogging import Logger as _GunicornLogger
except ImportError:  # gunicorn is not installed where only the worker runs
    _GunicornLogger = None

if _GunicornLogger is not None:
    class GunicornLogger(_GunicornLogger):
        """gunicorn's logger with our format, the request id and redacted URLs (`logger_class` in gunicorn.conf.py)."""

        def setup(self, cfg):
            super().setup(cfg)
            self.secrets = known_secrets()
            for log in (self.error_log, self.access_log):
                for handler in log.handlers:
                    decorate(handler)
                    if log is self.access_log and log_format() == "text":
                        handler.setFormatter(logging.Formatter("%(message)s"))

        def atoms(self, resp, req, environ, request_time):
            atoms = super().atoms(resp, req, environ, request_time)
            secrets = getattr(self, "secrets", ())
            for name in ("r", "q", "U", "f", "{raw_uri}e", "{query_string}e", "{http_referer}e", "{referer}i"):
                if isinstance(atoms.get(name), str):
                    atoms[name] = redact(atoms[name], secrets)
            for name in list(atoms):  # credentials in request and response headers
                if name in ("{authorization}i", "{x-seecodes-jira-request-key}i", "{x-seecodes-next-request-key}o",
                            "{http_authorization}e", "{http_x_seecodes_jira_request_key}e"):
                    atoms[name] = REDACTED
            return atoms

        def access(self, resp, req, environ, request_time):
            if not self.access_log_enabled:
                return
            atoms = self.atoms(resp, req, environ, request_time)
            request_id = environ.get("seecodes.request_id") or "-"
            line = self.cfg.access_log_format % self.atoms_wrapper_class(atoms)
            if log_format() == "json":
                line = f"{atoms['m']} {atoms['U']}{'?' + atoms['q'] if atoms['q'] else ''} {atoms['s']}"
            try:
                self.access_log.info(line, extra={
                    "request_id": request_id, "method": atoms["m"], "path": atoms["U"],
                    "query": atoms["q"] or "", "status": int(atoms["s"]) if str(atoms["s"]).isdigit() else atoms["s"],
                    "duration_ms": round(atoms["D"] / 1000, 3), "remote_addr": atoms["h"],
                    "bytes": atoms["B"], "user_agent": atoms["a"]})
            except Exception:
                self.error("access log line failed", exc_info=True)
else:
    GunicornLogger = None
