"""`flask doctor`: checks a configuration end to end and says how to fix each failure."""
import ipaddress
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from sqlalchemy import text

from . import settings
from .extensions import db
from .logs import mask_url_credentials

PASS, WARN, FAIL = "pass", "warn", "FAIL"
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


@dataclass
class Result:
    name: str
    status: str
    detail: str
    fix: str = ""


def _production(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def check_database(app) -> list[Result]:
    from alembic.script import ScriptDirectory
    from alembic.config import Config

    try:
        db.session.execute(text("SELECT 1"))
        current = set(db.session.execute(text("SELECT version_num FROM alembic_version")).scalars())
    except Exception as error:
        db.session.rollback()
        reachable = "alembic_version" in str(error)
        return [Result("database", FAIL,
                       f"{'no migrations applied' if reachable else 'does not answer'} ({error.__class__.__name__})",
                       "run `flask --app wsgi db upgrade`" if reachable
                       else "check DATABASE_URL and that PostgreSQL is running (createdb <name> if it is new)")]
    finally:
        db.session.rollback()
    heads = set(ScriptDirectory.from_config(_alembic_config(Config)).get_heads())
    if current != heads:
        return [Result("database", PASS, "answers"),
                Result("migrations", FAIL, f"database at {sorted(current) or 'none'}, code at {sorted(heads)}",
                       "run `flask --app wsgi db upgrade` (make run and make worker do it)")]
    return [Result("database", PASS, "answers"), Result("migrations", PASS, f"current ({', '.join(sorted(heads))})")]


def _alembic_config(config_class):
    config = config_class()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def check_redis(app) -> list[Result]:
    if not app.config.get("REDIS_URL"):
        return [Result("redis", PASS, "not configured: runs execute in the web process (embedded default)")]
    from .queueing import redis_connection

    try:
        redis_connection().ping()
    except Exception as error:
        return [Result("redis", FAIL, f"{_safe_url(app.config['REDIS_URL'])} does not answer "
                                      f"({error.__class__.__name__})", "start Redis or fix REDIS_URL")]
    results = [Result("redis", PASS, f"{_safe_url(app.config['REDIS_URL'])} answers")]
    from . import readiness

    # GET /readyz's rule: a worker counts when it heartbeats, not merely because it is still registered.
    workers = readiness.workers()
    results.append(Result("workers", PASS if workers.ok else WARN, workers.detail,
                          "" if workers.ok else "start `make worker` (runs stay queued until a worker takes them)"))
    return results


def _safe_url(url: str) -> str:
    """The URL without its password."""
    return mask_url_credentials(url)


def check_storage(app) -> list[Result]:
    kind = app.config["SEECODES_STORAGE"]
    if kind == "local":
        folder = Path(app.config["SEECODES_STORAGE_DIR"])
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=folder, prefix=".doctor-"):
                pass
        except OSError as error:
            return [Result("storage", FAIL, f"local folder {folder} is not writable ({error.strerror})",
                           "fix the folder's owner/permissions or SEECODES_INSTANCE_PATH")]
        return [Result("storage", PASS, f"local folder {folder} is writable")]
    if kind != "s3":
        return [Result("storage", FAIL, f"SEECODES_STORAGE={kind!r}", "set SEECODES_STORAGE to local or s3")]
    from .storage.s3 import client

    bucket, endpoint = app.config["S3_BUCKET"], app.config.get("S3_ENDPOINT_URL")
    s3 = client(endpoint)
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code", error.__class__.__name__)
        fix = ("create the bucket (aws s3 mb s3://{0}) or fix S3_BUCKET".format(bucket) if str(code) in ("404", "NoSuchBucket")
               else "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_DEFAULT_REGION and S3_ENDPOINT_URL")
        return [Result("storage", FAIL, f"bucket {bucket!r} at {_safe_url(endpoint or 'AWS')}: {code}", fix)]
    try:
        s3.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "doctor/probe"}, ExpiresIn=60)
    except Exception as error:
        return [Result("storage", FAIL, f"cannot presign ({error.__class__.__name__})", "check the AWS credentials")]
    return [Result("storage", PASS, f"bucket {bucket!r} reachable, presigning works")]


def check_forge_jwks(app) -> list[Result]:
    from .forge.jwks import JWKSCache

    url = app.config["FORGE_JWKS_URL"]
    try:
        document = JWKSCache(url, 0)._read()
        from jwt import PyJWKSet

        keys = [key for key in PyJWKSet.from_dict(document).keys if key.key_id]
    except Exception as error:
        return [Result("forge jwks", FAIL, f"{url}: {getattr(error, 'detail', error.__class__.__name__)}",
                       "check FORGE_JWKS_URL (Atlassian's URL in production; a dev JWKS file offline)")]
    if not keys:
        return [Result("forge jwks", FAIL, f"{url} holds no keys with a kid", "check FORGE_JWKS_URL")]
    return [Result("forge jwks", PASS, f"{url}: {len(keys)} key(s)")]


def check_secret_key(app) -> list[Result]:
    key = app.config.get("SECRET_KEY") or ""
    if len(key) < settings.MIN_SECRET_KEY_LENGTH:
        return [Result("secret key", FAIL, f"{len(key)} characters, fewer than {settings.MIN_SECRET_KEY_LENGTH}",
                       "set SEECODES_SECRET_KEY to a long random value "
                       "(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')")]
    if _production(app) and app.config.get("SECRET_KEY_SOURCE") != "SEECODES_SECRET_KEY":
        return [Result("secret key", FAIL, "the embedded default's key from instance/secret_key on PostgreSQL",
                       "set SEECODES_SECRET_KEY, the same on every host (permits signed on one host must verify "
                       "on all)")]
    return [Result("secret key", PASS, f"{len(key)} characters"
                                       f"{', ' + str(len(app.config.get('SECRET_KEY_FALLBACKS') or [])) + ' fallback(s)' if app.config.get('SECRET_KEY_FALLBACKS') else ''}")]


def _loopback(host: str) -> bool:
    if host in ("localhost",):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_public_url(app) -> list[Result]:
    url = app.config["SEECODES_PUBLIC_BASE_URL"]
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return [Result("public url", FAIL, f"{url!r} is not an http(s) URL", "set SEECODES_PUBLIC_BASE_URL")]
    if parsed.scheme != "https" and not _loopback(parsed.hostname):
        return [Result("public url", FAIL, f"{url} is plain http outside loopback: permits and signed URLs would "
                                           "travel in clear", "serve TLS and set SEECODES_PUBLIC_BASE_URL=https://…")]
    return [Result("public url", PASS, url)]


def check_models(app, online: bool) -> list[Result]:
    from .catalog import service as catalog
    from .runs import providers

    try:
        models = catalog.list_models()
    except Exception as error:
        db.session.rollback()
        return [Result("models", FAIL, f"catalog unreadable ({error.__class__.__name__})", "run the migrations")]
    if not models:
        return [Result("models", FAIL, "the catalog is empty", "run `flask --app wsgi models seed`")]
    results = []
    for model in models:
        kind, config = providers.resolve(model.provider, model.provider_config)
        name = f"model {model.id!r}"
        if kind == "offline":
            results.append(Result(name, WARN if _production(app) else PASS, "offline provider (no AI)",
                                  "set SEECODES_AI_BASE_URL / SEECODES_AI_MODEL / SEECODES_AI_API_KEY or a catalog "
                                  "file" if _production(app) else ""))
            continue
        key_variable = config.get("apiKeyEnv")
        if key_variable and not os.environ.get(key_variable):
            results.append(Result(name, FAIL, f"API key variable {key_variable} is not set",
                                  f"export {key_variable}=… here and on every worker"))
            continue
        if not online:
            results.append(Result(name, PASS, f"{_safe_url(str(config.get('baseUrl')))} model "
                                              f"{config.get('model')!r} (configured; --online calls it)"))
            continue
        results.append(_call_provider(name, model.id, config))
    return results


def _call_provider(name: str, model_id: str, config: dict) -> Result:
    from .runs import providers

    provider = providers.OpenAIProvider({**config, "maxRetries": 0, "maxOutputTokens": 1,
                                         "timeoutSeconds": min(float(config.get("timeoutSeconds", 20)), 20)})
    request = providers.Request(model_id, [], "Answer with one word: ok", time.monotonic() + 25, 10)
    try:
        provider.complete(request, lambda line: None)
    except providers.ProviderError as error:
        return Result(name, FAIL, f"{provider.describe_for_operator()}: {error}",
                      "check the base URL, model name and API key of this provider")
    return Result(name, PASS, f"{provider.describe_for_operator()} answered")


def check_metrics(app) -> list[Result]:
    token = settings.metrics_token(app)
    if token:
        return [Result("metrics", PASS, "GET /metrics enabled (bearer token)")]
    return [Result("metrics", WARN if _production(app) else PASS, "GET /metrics disabled (404)",
                   "set SEECODES_METRICS_TOKEN to let Prometheus scrape" if _production(app) else "")]


def check_settings(app) -> list[Result]:
    """Every setting of seecodes/settings.py as the app holds it (create_app refused the unusable ones at start;
    this also sees what changed since)."""
    problems = settings.problems(app)
    if problems:
        return [Result("settings", FAIL, str(problem), "set the variable as the detail says, or unset it")
                for problem in problems]
    changed = settings.not_default(app)
    return [Result("settings", PASS, f"{len(settings.SETTINGS)} valid"
                                     + (f"; not the default: {', '.join(changed)}" if changed else ""))]


CHECKS = (check_settings, check_database, check_redis, check_storage, check_forge_jwks, check_secret_key,
          check_public_url, check_metrics)


def run_checks(app, online: bool = False) -> list[Result]:
    results = []
    with app.app_context():
        for check in CHECKS:
            results.extend(_guarded(check.__name__, lambda: check(app)))
        results.extend(_guarded("check_models", lambda: check_models(app, online)))
        db.session.remove()
    return results


def _guarded(name, check) -> list[Result]:
    """A check that crashes is itself a failure, reported, never a traceback."""
    try:
        return check()
    except Exception as error:
        db.session.rollback()
        return [Result(name.removeprefix("check_").replace("_", " "), FAIL, f"check crashed: {error.__class__.__name__}",
                       "see the detail above; report it if the configuration looks right")]


def table(results: list[Result]) -> str:
    width = max(len(result.name) for result in results)
    lines = [f"{'check'.ljust(width)}  status  detail", f"{'-' * width}  ------  ------"]
    for result in results:
        lines.append(f"{result.name.ljust(width)}  {result.status.ljust(6)}  {result.detail}")
        if result.fix and result.status != PASS:
            lines.append(f"{''.ljust(width)}          fix: {result.fix}")
    failed = sum(result.status == FAIL for result in results)
    warned = sum(result.status == WARN for result in results)
    lines.append(f"{failed} failed, {warned} warning(s), {len(results) - failed - warned} passed")
    lines = [mask_url_credentials(line) for line in lines]  # whatever a check echoed (an S3 endpoint, a URL)
    return "\n".join(lines)
