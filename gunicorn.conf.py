"""gunicorn settings; every value can be overridden from the environment."""
import os

# The instance folder and PORT (seecodes/settings.py) and the request limits: neither module imports
# prometheus_client, whose metrics folder is set below.
from seecodes import http_limits, settings

_root = os.path.dirname(os.path.abspath(__file__))
_instance = settings.instance_path()

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{settings.bootstrap('PORT')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

# Logs: our logger class writes JSON or text (SEECODES_LOG_FORMAT), adds the request id and never writes a
# credential (query strings and credential headers are redacted).
logger_class = "seecodes.logs.GunicornLogger"
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
# Request line and header limits (docs/security.md, "Limits and refusal codes"). The longest request line
# the OpenAPI document allows (hints and baseUrl are printable ASCII, ≤ 512 characters, even fully
# percent-encoded) is under 4 KiB; 8,190 is gunicorn's maximum. Beyond these, gunicorn itself answers
# 414 / 431 / 400 before the app runs, so those answers are not in the JSON envelope.
# The values live in seecodes/http_limits.py, which the OpenAPI document quotes.
limit_request_line = http_limits.REQUEST_LINE_BYTES
limit_request_fields = http_limits.HEADER_FIELDS
limit_request_field_size = http_limits.HEADER_FIELD_BYTES
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms "%(a)s" request_id=%({x-request-id}o)s'

# Control socket (gunicornc): every gunicorn on a host would share ~/.gunicorn/gunicorn.ctl, so it is off
# unless GUNICORN_CONTROL_SOCKET names this instance's own path.
control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET") or os.path.join(_instance, "gunicorn.ctl")
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")

# Prometheus multiprocess mode: the workers of this gunicorn (and the RQ workers of this deployment on this
# host, which compute the same default) write their metrics under one folder that GET /metrics adds up: by
# default on a tmpfs, so that a full data disk cannot kill a process (seecodes/metrics_folder.py). Set before
# any app import.
from seecodes import metrics_folder  # noqa: E402 (stdlib only; imports nothing of prometheus_client)

metrics_folder.configure(_instance)


def on_starting(server):
    from seecodes.prometheus import prepare_directory

    prepare_directory(os.environ["PROMETHEUS_MULTIPROC_DIR"])


def post_fork(server, worker):
    """Connections opened by the master must not be shared with forked workers."""
    app = worker.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):
        return  # not the SeeCodes app (the benchmarks' minimal baseline)
    from seecodes.extensions import db

    with app.app_context():
        db.engine.dispose(close=False)
        if worker.age == 1:  # once per start, not once per worker
            from seecodes.catalog.service import warn_if_offline_in_production

            warn_if_offline_in_production(app)
            db.session.remove()

    from seecodes import scheduler

    if scheduler.enabled(app):
        scheduler.start(app)  # the reaper runs even when no request comes and no worker is alive


def child_exit(server, worker):
    from seecodes.prometheus import worker_exited

    worker_exited(worker.pid)
