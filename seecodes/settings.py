"""Every setting of the app, with its default written once: read from the environment once per app, validated.

`create_app` builds its config with `from_environ(instance_path)` (each variable of SETTINGS, else its default),
lays the caller's overrides over it and calls `check(app)`, which parses every value again and refuses one that
no reader could use (ConfigError, saying what to set); `flask doctor` reports from the same check. Code then
reads `app.config[NAME]`, or `setting(NAME)` / `raw(NAME)` below. An empty variable counts as unset.

Read from the environment elsewhere, because they are needed before an app exists or belong to another program
(tests/ops/test_settings.py fails when another module reads a variable that is not named here):
- SEECODES_INSTANCE_PATH, PORT, SEECODES_LOG_LEVEL: `bootstrap(name)` below (defaults in BOOTSTRAP), read by
  the app factory, gunicorn.conf.py, seecodes/logs.py and the worker's supervisor before they build an app;
- SEECODES_LOG_FORMAT, and the secrets that logs mask (SECRET_VARIABLES and every *_API_KEY): seecodes/logs.py,
  whose handlers gunicorn's logger class and the worker set up before an app exists;
- PROMETHEUS_MULTIPROC_DIR (prometheus_client reads it at import), chosen by seecodes/metrics_folder.py from
  the instance path, DATABASE_URL and REDIS_URL before any app is built; prometheus.py and metrics_endpoint.py
  ask whether it is set;
- the AI provider's SEECODES_AI_BASE_URL, SEECODES_AI_MODEL, SEECODES_AI_API_KEY, SEECODES_AI_TIMEOUT_SECONDS,
  SEECODES_AI_MAX_RETRIES and any variable a catalog entry names as its `apiKeyEnv`: seecodes/runs/providers.py
  (and catalog/service.py, doctor.py) resolve them per call, in the process that calls the provider, by a name
  the catalog's data may choose;
- boto3's AWS_REGION / AWS_DEFAULT_REGION (seecodes/storage/s3.py) and credentials, read by boto3 itself;
- SEECODES_WORKER_SUPERVISOR_PID, which the worker's supervisor hands to its child (seecodes/runs/worker.py).
gunicorn.conf.py also reads gunicorn's own variables (HOST, WEB_CONCURRENCY, GUNICORN_*, FORWARDED_ALLOW_IPS).

Stdlib and Flask only, importing nothing of the app: every layer may read it, and tests load it by path.
"""
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flask import current_app, has_app_context


class ConfigError(RuntimeError):
    """A configuration the service refuses to start with; the message says how to fix it."""


ATLASSIAN_JWKS_URL = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"
# itsdangerous signs with HMAC-SHA1 by default: a key shorter than its 20-byte output only weakens it.
MIN_SECRET_KEY_LENGTH = 32
_KEY_ADVICE = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"
MAX_RETENTION_DAYS = 36_500  # a century: anything longer is a typo, not a policy

# Read before an app exists (see the module's doc); the instance folder defaults to instance/ of the checkout.
BOOTSTRAP = {
    "SEECODES_INSTANCE_PATH": os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "instance"),
    "PORT": "8000",
    "SEECODES_LOG_LEVEL": "INFO",
}


def bootstrap(name: str, environ=os.environ) -> str:
    """A process-level variable: the environment, else its default in BOOTSTRAP."""
    given = environ.get(name)
    return BOOTSTRAP[name] if _unset(given) else given


def instance_path(environ=os.environ) -> str:
    """The instance folder (SQLite file, generated secret key, local storage, dev Forge keys)."""
    return bootstrap("SEECODES_INSTANCE_PATH", environ)


# --- parsers: (setting, value) -> the value the code reads, or ConfigError ---

def _unset(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(setting, value):
    return value


def _whole(setting, value) -> int:
    """A whole number ≥ 0, as a variable ("30", " 30 ") or an override (30)."""
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError(value)
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise ConfigError(f"{setting.name}={value!r} is not a whole number (0 or more): set it so "
                          f"(default {setting.default}), or unset it.")
    return number


def _seconds(setting, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = -1.0
    if not number >= 0 or number == float("inf"):
        raise ConfigError(f"{setting.name}={value!r} is not a number of seconds (0 or more): set it so "
                          f"(default {setting.default}), or unset it.")
    return number


_WHOLE_DAYS = re.compile(r"\d{1,6}")


def _days(setting, value) -> int:
    """Whole days, 0 to MAX_RETENTION_DAYS (a negative retention once put the cutoff in the future, and pruning
    deleted every live request key and permit)."""
    text = str(value).strip()
    if isinstance(value, bool) or not _WHOLE_DAYS.fullmatch(text) or int(text) > MAX_RETENTION_DAYS:
        raise ConfigError(f"{setting.name}={value!r} is not a whole number of days from 0 to {MAX_RETENTION_DAYS}: "
                          f"set it so (default {setting.default}), or unset it.")
    return int(text)


def _choice(*choices: str, why: str = "") -> Callable:
    def parse(setting, value) -> str:
        chosen = str(value).strip().lower()
        if chosen not in choices:
            raise ConfigError(f"{setting.name}={value!r} is not one of {', '.join(choices)}{why}: set it so "
                              f"(default {setting.default}), or unset it.")
        return chosen
    return parse


def _url_list(setting, value) -> list[str]:
    parts = value.split(",") if isinstance(value, str) else list(value)
    return [part.strip().rstrip("/") for part in parts if part.strip()]


def _base_url(setting, value) -> str:
    return str(value).rstrip("/")


def database_url(url: str) -> str:
    """DATABASE_URL with the psycopg driver: SQLAlchemy accepts no postgres:// URL (the form Heroku-style hosts
    hand out), and before 2.1 it read postgresql:// as psycopg2, which the project does not install."""
    for plain in ("postgres://", "postgresql://"):
        if url.startswith(plain):
            return "postgresql+psycopg://" + url.removeprefix(plain)
    return url


def _database_url(setting, value) -> str:
    return database_url(str(value))


@dataclass(frozen=True)
class Setting:
    name: str  # the environment variable
    default: object  # None: unset unless given (for DATABASE_URL and SEECODES_PUBLIC_BASE_URL, computed below)
    parse: Callable = _whole
    key: str = ""  # the app.config key, when it is not the variable's name

    @property
    def config_key(self) -> str:
        return self.key or self.name

    def read(self, value):
        """The value the code reads: the given one parsed, else the default."""
        return self.default if _unset(value) else self.parse(self, value)


SETTINGS = (
    Setting("DATABASE_URL", None, _database_url, key="SQLALCHEMY_DATABASE_URI"),  # default: instance/seecodes.db
    Setting("REDIS_URL", None, _text),  # unset: runs execute in the web process
    Setting("SEECODES_PUBLIC_BASE_URL", None, _base_url),  # default: http://127.0.0.1:$PORT
    # Extra public URLs (comma-separated) accepted as launcher baseUrl hints.
    Setting("SEECODES_PUBLIC_URL_ALIASES", (), _url_list),
    Setting("SEECODES_STORAGE", "local", _choice("local", "s3")),
    Setting("S3_BUCKET", "seecodes-runs", _text),
    Setting("S3_ENDPOINT_URL", None, _text),  # unset: AWS
    Setting("FORGE_APP_ID", "ari:cloud:ecosystem::app/seecodes-dev", _text),
    Setting("FORGE_JWKS_URL", ATLASSIAN_JWKS_URL, _text),
    Setting("FORGE_LEEWAY_SECONDS", 10),
    # Longest exp - iat a Forge token may claim (Forge's own live about 25 seconds).
    Setting("FORGE_MAX_TOKEN_LIFETIME_SECONDS", 300),
    Setting("FORGE_JWKS_CACHE_SECONDS", 3600),
    Setting("SEECODES_STARTER_CREDITS", 0),
    Setting("SEECODES_REQUEST_KEY_TTL_SECONDS", 600),
    # Live request-key chains kept per (installation, user); beyond it the least recently used are superseded.
    Setting("SEECODES_REQUEST_KEY_MAX_CHAINS", 32),
    Setting("SEECODES_PERMIT_TTL_SECONDS", 24 * 3600),
    Setting("SEECODES_VSCODE_EXTENSION_ID", "eprojac.seecodes-task-runner", _text),
    # Launch-exchange attempts allowed per client address and window.
    Setting("SEECODES_EXCHANGE_RATE_LIMIT", 30),
    Setting("SEECODES_EXCHANGE_RATE_WINDOW_SECONDS", 60),
    # Number of reverse proxies in front of the app whose X-Forwarded-For is trusted.
    Setting("SEECODES_TRUSTED_PROXIES", 0),
    Setting("SEECODES_MAX_BODY_BYTES", 16 * 1024 * 1024, key="MAX_CONTENT_LENGTH"),
    Setting("SEECODES_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
    # auto | on | off: whether psycopg prepares statements on the server (seecodes/db_prepare.py).
    Setting("SEECODES_DB_PREPARE", "auto", _choice("auto", "on", "off", why=" (auto finds out whether a pooler "
                                                   "such as PgBouncer stands between the app and PostgreSQL)")),
    # Runs.
    Setting("SEECODES_RUN_QUEUE", "seecodes-runs", _text),
    Setting("SEECODES_RUN_TIMEOUT_SECONDS", 600),
    Setting("SEECODES_RUN_STALE_SECONDS", 120),
    # How often a running job refreshes its heartbeat; must stay well below the stale age.
    Setting("SEECODES_RUN_HEARTBEAT_SECONDS", 10),
    # How long a job waits for the start transaction that queued it to become visible.
    Setting("SEECODES_RUN_CLAIM_WAIT_SECONDS", 5),
    # Threads of the embedded default's in-process executor.
    Setting("SEECODES_RUN_THREADS", 2),
    # A queued run whose job vanished is re-queued at most this many times, then failed.
    Setting("SEECODES_RUN_MAX_REQUEUES", 3),
    # Lifetime of presigned / signed storage URLs.
    Setting("SEECODES_STORAGE_URL_TTL_SECONDS", 3600),
    # Retry-After of a status poll while the run works (GET /v1/tasks/{runId}).
    Setting("SEECODES_POLL_INTERVAL_SECONDS", 2),
    # With Redis: how long a conditional poll may be answered 304 from Redis (seecodes/poll_tags.py) after a
    # change whose invalidation could not reach Redis, or that bypassed the app.
    Setting("SEECODES_POLL_TAG_TTL_SECONDS", 10),
    # Run data lifetime (seecodes/runs/lifetime.py): an initialized run not started within this time expires
    # (failed, its uploads deleted); a settled run's inputs, outputs and log are removed after the retention;
    # an installation has at most this many initialized runs at a time.
    Setting("SEECODES_RUN_INIT_TTL_SECONDS", 24 * 3600),
    Setting("SEECODES_RUN_DATA_RETENTION_DAYS", 30, _days),
    Setting("SEECODES_MAX_OPEN_RUNS", 20),
    # Workers and readiness.
    # How often an RQ worker refreshes its heartbeat in Redis, idle or busy (/readyz reads it).
    Setting("SEECODES_WORKER_HEARTBEAT_SECONDS", 10),
    # First and longest pause before `make worker` restarts an RQ worker that exited (doubling in between).
    Setting("SEECODES_WORKER_RESTART_SECONDS", 1),
    Setting("SEECODES_WORKER_RESTART_MAX_SECONDS", 30),
    # /readyz fails when the oldest queued run has waited longer than this.
    Setting("SEECODES_READY_MAX_QUEUE_AGE_SECONDS", 600),
    # Periodic maintenance (seecodes/scheduler.py): on unless off (0, false, no); unset: on, except under TESTING.
    Setting("SEECODES_SCHEDULER", None, _text),
    # How often every live process (web workers, worker supervisors) runs the reaper.
    Setting("SEECODES_REAP_INTERVAL_SECONDS", 60),
    # Retention pruning (seecodes/retention.py): its period, and how long spent credentials (consumed, superseded
    # or expired request keys; expired launch codes and permits) and security events are kept.
    Setting("SEECODES_PRUNE_INTERVAL_SECONDS", 3600, _seconds),
    Setting("SEECODES_CREDENTIAL_RETENTION_DAYS", 7, _days),
    Setting("SEECODES_SECURITY_EVENT_RETENTION_DAYS", 90, _days),
    # Bearer token that GET /metrics (and /readyz's details) require; unset: metrics are disabled.
    Setting("SEECODES_METRICS_TOKEN", None, _text),
    # The operator's model catalog, which `flask models seed` reads instead of the built-in one.
    Setting("SEECODES_CATALOG_FILE", None, _text),
    # Answer bounds: the team-competition board's items and task summaries, a project-index query's answer in
    # bytes of JSON (docs/project-indexes.md).
    Setting("SEECODES_BOARD_MAX_ITEMS", 2000),
    Setting("SEECODES_BOARD_MAX_TASK_SUMMARIES", 2000),
    Setting("SEECODES_INDEX_ANSWER_MAX_CHARS", 8_000_000),
)
_COMPUTED = ("DATABASE_URL", "SEECODES_PUBLIC_BASE_URL")
BY_NAME = {setting.name: setting for setting in SETTINGS}
DEFAULTS = {setting.name: setting.default for setting in SETTINGS}


def from_environ(instance_path: str, environ=os.environ) -> dict:
    """The Flask config mapping of an app: every setting from the environment, else its default; the signing keys
    (from SEECODES_SECRET_KEY, else generated once into the instance folder). ConfigError names what to fix."""
    instance = Path(instance_path)
    config = {setting.config_key: setting.read(environ.get(setting.name)) for setting in SETTINGS}
    config["SQLALCHEMY_DATABASE_URI"] = config["SQLALCHEMY_DATABASE_URI"] or f"sqlite:///{instance / 'seecodes.db'}"
    config["SEECODES_PUBLIC_BASE_URL"] = (config["SEECODES_PUBLIC_BASE_URL"]
                                          or f"http://127.0.0.1:{bootstrap('PORT', environ)}")
    key, source = _secret_key(environ, instance)
    config.update({
        "SECRET_KEY": key,
        # Where the key came from: the doctor fails a PostgreSQL deployment whose hosts each generated their own.
        "SECRET_KEY_SOURCE": source,
        "SECRET_KEY_FALLBACKS": _fallback_keys(environ),
        "SEECODES_STORAGE_DIR": str(instance / "storage"),
        # No pool_pre_ping (a round trip per request): seecodes.db_liveness checks pooled connections instead.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
    })
    return config


def problems(app) -> list[ConfigError]:
    """What is wrong with the app's settings as configured now (environment and overrides)."""
    found = []
    for setting in SETTINGS:
        try:
            setting.read(app.config.get(setting.config_key))
        except ConfigError as error:
            found.append(error)
    return found


def check(app) -> None:
    """At start (create_app, after the overrides): refuse the first unusable setting, and store every value in the
    form the code reads (e.g. " 30 " from the environment as 30)."""
    found = problems(app)
    if found:
        raise found[0]
    for setting in SETTINGS:
        key = setting.config_key
        if not _unset(app.config.get(key)):
            app.config[key] = setting.read(app.config[key])


def not_default(app) -> list[str]:
    """The settings the app holds with another value than the default (names only: some are secrets); the
    database and public URL, whose defaults depend on the instance folder and PORT, are left out."""
    return [setting.name for setting in SETTINGS if setting.name not in _COMPUTED
            and _differs(setting, app.config.get(setting.config_key))]


def _differs(setting, held) -> bool:
    try:
        return setting.read(held) != setting.read(setting.default)
    except ConfigError:
        return True


def value(name: str, app=None):
    """The setting parsed and validated now (ConfigError when an override made it unusable after the start)."""
    return BY_NAME[name].read(raw(name, app))


def raw(name: str, app=None):
    """The setting as the app holds it (its config, else the default), not yet converted; outside an app context
    the environment, else the default."""
    app = app or (current_app if has_app_context() else None)
    if app is not None:
        found = app.config.get(name)
        return DEFAULTS[name] if found is None else found
    given = os.environ.get(name)
    return DEFAULTS[name] if _unset(given) else given


def setting(name: str, app=None) -> int:
    return int(raw(name, app))


def metrics_token(app=None) -> str | None:
    """The bearer token GET /metrics (and /readyz's details) require; None: metrics are disabled."""
    return (app or current_app).config.get("SEECODES_METRICS_TOKEN") or None


# --- the signing keys ---

def _checked_key(key: str, where: str) -> str:
    if len(key.strip()) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"{where} is empty or too short ({len(key.strip())} characters; at least "
                          f"{MIN_SECRET_KEY_LENGTH} are required): {_KEY_ADVICE}")
    return key


def _secret_key(environ, instance: Path) -> tuple[str, str]:
    """The current signing key and where it came from: the environment, else one generated once and kept in
    the instance folder."""
    if environ.get("SEECODES_SECRET_KEY"):
        return _checked_key(environ["SEECODES_SECRET_KEY"], "SEECODES_SECRET_KEY"), "SEECODES_SECRET_KEY"
    key_file = instance / "secret_key"
    if not key_file.exists():
        _write_key_file(key_file)
    return (_checked_key(key_file.read_text().strip(), f"{key_file} (delete it to have a new key generated)"),
            str(key_file))


def _write_key_file(key_file: Path) -> None:
    """Write a complete key to a private temporary file, then link it into place.

    The link appears with its whole content at once and fails if another process got there first, so
    a racing process never reads an empty key and the loser of the race simply reads the winner's.
    """
    key_file.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=".secret_key.", dir=key_file.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
            handle.flush()
            os.fsync(handle.fileno())
        try:
            os.link(temporary, key_file)
        except FileExistsError:
            pass
    finally:
        os.unlink(temporary)


def _fallback_keys(environ) -> list[str]:
    keys = [k.strip() for k in environ.get("SEECODES_SECRET_KEY_FALLBACKS", "").split(",") if k.strip()]
    return [_checked_key(key, "a key of SEECODES_SECRET_KEY_FALLBACKS") for key in keys]
