"""Configuration read from the environment, with embedded defaults that need no other service."""
import os
import secrets
import tempfile
from pathlib import Path

ATLASSIAN_JWKS_URL = "https://forge.cdn.prod.atlassian-dev.net/.well-known/jwks.json"


def _int(environ, name, default):
    raw = environ.get(name)
    return int(raw) if raw not in (None, "") else default


class ConfigError(RuntimeError):
    """A configuration the service refuses to start with; the message says how to fix it."""


# itsdangerous signs with HMAC-SHA1 by default: a key shorter than its 20-byte output only weakens it.
MIN_SECRET_KEY_LENGTH = 32
_KEY_ADVICE = "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))'"


def _checked_key(key: str, where: str) -> str:
    if len(key.strip()) < MIN_SECRET_KEY_LENGTH:
        raise ConfigError(f"{where} is empty or too short ({len(key.strip())} characters; at least "
                          f"{MIN_SECRET_KEY_LENGTH} are required): {_KEY_ADVICE}")
    return key


def _secret_key(environ, instance_path: Path) -> str:
    """The current signing key: from the environment, else one generated once and kept in instance/."""
    if environ.get("SEECODES_SECRET_KEY"):
        return _checked_key(environ["SEECODES_SECRET_KEY"], "SEECODES_SECRET_KEY")
    key_file = instance_path / "secret_key"
    if not key_file.exists():
        _write_key_file(key_file)
    return _checked_key(key_file.read_text().strip(), f"{key_file} (delete it to have a new key generated)")


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


def from_environ(instance_path: str, environ=os.environ) -> dict:
    """Build the Flask config mapping for this process."""
    instance = Path(instance_path)
    port = environ.get("PORT", "8000")
    database_url = environ.get("DATABASE_URL") or f"sqlite:///{instance / 'seecodes.db'}"
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    public_base = environ.get("SEECODES_PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}"
    return {
        "SECRET_KEY": _secret_key(environ, instance),
        "SECRET_KEY_FALLBACKS": _fallback_keys(environ),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "REDIS_URL": environ.get("REDIS_URL") or None,
        "SEECODES_PUBLIC_BASE_URL": public_base.rstrip("/"),
        # Extra public URLs (comma-separated) accepted as launcher baseUrl hints.
        "SEECODES_PUBLIC_URL_ALIASES": [
            u.strip().rstrip("/") for u in environ.get("SEECODES_PUBLIC_URL_ALIASES", "").split(",") if u.strip()
        ],
        "SEECODES_STORAGE": environ.get("SEECODES_STORAGE", "local"),
        "SEECODES_STORAGE_DIR": str(instance / "storage"),
        "S3_BUCKET": environ.get("S3_BUCKET", "seecodes-runs"),
        "S3_ENDPOINT_URL": environ.get("S3_ENDPOINT_URL") or None,
        "FORGE_APP_ID": environ.get("FORGE_APP_ID", "ari:cloud:ecosystem::app/seecodes-dev"),
        "FORGE_JWKS_URL": environ.get("FORGE_JWKS_URL", ATLASSIAN_JWKS_URL),
        "FORGE_LEEWAY_SECONDS": _int(environ, "FORGE_LEEWAY_SECONDS", 10),
        # Longest exp - iat a Forge token may claim (Forge's own live about 25 seconds).
        "FORGE_MAX_TOKEN_LIFETIME_SECONDS": _int(environ, "FORGE_MAX_TOKEN_LIFETIME_SECONDS", 300),
        "FORGE_JWKS_CACHE_SECONDS": _int(environ, "FORGE_JWKS_CACHE_SECONDS", 3600),
        "SEECODES_STARTER_CREDITS": _int(environ, "SEECODES_STARTER_CREDITS", 0),
        "SEECODES_REQUEST_KEY_TTL_SECONDS": _int(environ, "SEECODES_REQUEST_KEY_TTL_SECONDS", 600),
        "SEECODES_PERMIT_TTL_SECONDS": _int(environ, "SEECODES_PERMIT_TTL_SECONDS", 24 * 3600),
        "SEECODES_VSCODE_EXTENSION_ID": environ.get("SEECODES_VSCODE_EXTENSION_ID", "eprojac.seecodes-task-runner"),
        # Launch-exchange attempts allowed per client address and window.
        "SEECODES_EXCHANGE_RATE_LIMIT": _int(environ, "SEECODES_EXCHANGE_RATE_LIMIT", 30),
        "SEECODES_EXCHANGE_RATE_WINDOW_SECONDS": _int(environ, "SEECODES_EXCHANGE_RATE_WINDOW_SECONDS", 60),
        # Number of reverse proxies in front of the app whose X-Forwarded-For is trusted.
        "SEECODES_TRUSTED_PROXIES": _int(environ, "SEECODES_TRUSTED_PROXIES", 0),
        "SEECODES_MAX_UPLOAD_BYTES": _int(environ, "SEECODES_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
        "SEECODES_RUN_TIMEOUT_SECONDS": _int(environ, "SEECODES_RUN_TIMEOUT_SECONDS", 600),
        "SEECODES_RUN_STALE_SECONDS": _int(environ, "SEECODES_RUN_STALE_SECONDS", 120),
        "SEECODES_RUN_QUEUE": environ.get("SEECODES_RUN_QUEUE", "seecodes-runs"),
        "MAX_CONTENT_LENGTH": _int(environ, "SEECODES_MAX_BODY_BYTES", 16 * 1024 * 1024),
        # No pool_pre_ping (a round trip per request): seecodes.db_liveness checks pooled connections instead.
        "SQLALCHEMY_ENGINE_OPTIONS": {},
        # auto | on | off: whether psycopg prepares statements on the server (seecodes.db_prepare).
        "SEECODES_DB_PREPARE": environ.get("SEECODES_DB_PREPARE") or "auto",
    }
