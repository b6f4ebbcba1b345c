"""gunicorn settings; every value can be overridden from the environment."""
import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# Request line and header limits (docs/security.md, "Limits and refusal codes"). The longest request line
# the OpenAPI document allows (hints and baseUrl are printable ASCII, ≤ 512 characters, even fully
# percent-encoded) is under 4 KiB; 8,190 is gunicorn's maximum. Beyond these, gunicorn itself answers
# 414 / 431 / 400 before the app runs, so those answers are not in the JSON envelope.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190


def post_fork(server, worker):
    """Connections opened by the master must not be shared with forked workers."""
    app = worker.app.wsgi()
    if "sqlalchemy" not in getattr(app, "extensions", {}):
        return  # not the SeeCodes app (the benchmarks' minimal baseline)
    from seecodes.extensions import db

    with app.app_context():
        db.engine.dispose(close=False)
    from seecodes import scheduler

    if scheduler.enabled(app):
        scheduler.start(app)  # the reaper runs even when no request comes and no worker is alive
