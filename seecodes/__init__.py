"""SeeCodes backend: connects Jira work (Forge app) to the developer's editor (VS Code / Cursor)."""
import os

from flask import Flask
from flask.sessions import SessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from . import http_limits, settings
from .errors import register_error_handlers
from .extensions import SECURITY_SCHEMES, api, db, migrate

API_TITLE = "SeeCodes backend"
API_VERSION = "1.0.0"


class App(Flask):
    def ensure_sync(self, func):
        """No view or hook of this app is async (a test checks every registered one), so Flask's check per call
        (`inspect.iscoroutinefunction`, about ten a request) is skipped."""
        return func


def create_app(overrides: dict | None = None) -> Flask:
    app = App(__name__, instance_path=settings.instance_path())
    app.session_interface = NoCookieSessions()
    app.config.update(settings.from_environ(app.instance_path))
    app.config.update(_openapi_config())
    app.config.update(overrides or {})
    settings.check(app)
    register_logging(app)
    register_request_ids(app)
    register_extensions(app)
    register_metrics(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_cache_control(app)
    register_json_input(app)
    register_proxy_fix(app)
    register_cli(app)
    register_scheduler(app)
    return app


class NoCookieSessions(SessionInterface):
    """Every credential is a bearer or a header: no request reads a cookie session (with SECRET_KEY set, Flask's
    default would build a signing serializer and parse the cookie on every request), and writing to
    `flask.session` fails loudly (NullSession)."""

    def open_session(self, app, request):
        return self.make_null_session(app)

    def save_session(self, app, session, response):
        pass


def _openapi_config() -> dict:
    return {
        "API_TITLE": API_TITLE,
        "API_VERSION": API_VERSION,
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
        # Swagger UI would otherwise send the schema URL to validator.swagger.io.
        "OPENAPI_SWAGGER_UI_CONFIG": {"validatorUrl": None},
        "API_SPEC_OPTIONS": {
            "info": {
                "description": "Backend for the SeeCodes Jira Forge app and VS Code / Cursor extension. Jira-side "
                               "routes take a Forge token plus the chain's single-use request key and answer the "
                               "next key in X-SeeCodes-Next-Request-Key; editor-side routes take a task permit. "
                               "Every error is {ok: false, error, detail}. Strings must not contain NUL (U+0000). "
                               "Outside this document: the HTTP server in front (gunicorn) refuses a request line "
                               f"over {http_limits.REQUEST_LINE_BYTES} bytes (414) or a header over "
                               f"{http_limits.HEADER_FIELD_BYTES} bytes (431) with its own text/html answer; "
                               "nothing this document allows comes near those sizes.",
                "license": {"name": "Proprietary"},
                "contact": {"name": "SeeCodes"},
            },
            "components": {"securitySchemes": SECURITY_SCHEMES},
        },
    }


def register_logging(app: Flask) -> None:
    from . import logs

    if not app.debug:
        logs.configure()


def register_request_ids(app: Flask) -> None:
    from . import request_ids

    request_ids.register(app)


def register_metrics(app: Flask) -> None:
    from . import metrics_endpoint

    metrics_endpoint.register(app)


def register_extensions(app: Flask) -> None:
    from . import models_registry  # noqa: F401  (the whole schema, for the ORM and Alembic)

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "migrations"), render_as_batch=True)
    api.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        _tune_sqlite(app)
    from . import db_liveness, db_prepare, readonly

    db_liveness.register(app)
    db_prepare.register(app)
    readonly.register(app)


def _tune_sqlite(app: Flask) -> None:
    """WAL and a busy timeout let the embedded default serve readers while one writer commits."""
    from sqlalchemy import event

    with app.app_context():
        engine = db.engine
    _private_sqlite_files(engine.url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def _private_sqlite_files(database: str | None) -> None:
    """The database holds every tenant's data: create it 0600 like the secret key and stored objects.

    SQLite gives its -wal, -shm and -journal files the database file's permissions; files left by an
    older version are tightened too.
    """
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    if not os.path.exists(database):
        try:
            os.close(os.open(database, os.O_WRONLY | os.O_CREAT, 0o600))  # an empty file is an empty database
        except OSError:  # no such folder: SQLite itself will say so when the database is first used
            return
    for path in (database, f"{database}-wal", f"{database}-shm", f"{database}-journal"):
        try:
            if os.path.exists(path) and os.stat(path).st_mode & 0o077:
                os.chmod(path, 0o600)
        except OSError:  # not ours to change (another user's file): leave it as the operator set it
            pass


def register_blueprints(app: Flask) -> None:
    from .resources import register

    register(app, api)


def register_cache_control(app: Flask) -> None:
    from .auth import cache_control

    cache_control.register(app)


def register_json_input(app: Flask) -> None:
    from .json_input import register

    register(app)


def register_proxy_fix(app: Flask) -> None:
    hops = app.config["SEECODES_TRUSTED_PROXIES"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


def register_cli(app: Flask) -> None:
    from .cli import register as register_commands

    register_commands(app)


def register_scheduler(app: Flask) -> None:
    from . import scheduler

    scheduler.register(app)
