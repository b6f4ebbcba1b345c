"""`python -m seecodes.runs.worker` (`make worker`): an RQ worker for the run queue on REDIS_URL.

The Flask app is built once per worker process, here, never when the job module is imported; the
database engine's pooled connections are dropped in every forked work horse; the reaper runs with RQ's
periodic maintenance.
"""
import argparse
import gc
import logging
import os
import sys

from redis import Redis
from rq import Worker

log = logging.getLogger(__name__)


class RunWorker(Worker):
    """RQ's forking worker, plus the run reaper among its maintenance tasks."""

    flask_app = None

    @property
    def dequeue_timeout(self) -> int:
        # An idle worker wakes at least once per maintenance interval, so the reaper keeps its period.
        return max(1, min(super().dequeue_timeout, self.maintenance_interval))

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()
        from ..extensions import db
        from .reaper import reap

        with self.flask_app.app_context():
            try:
                reap()
            except Exception:  # the reaper must never take the worker down
                log.exception("reaper failed")
            finally:
                db.session.remove()


def build_app():
    from .. import create_app, logs, prometheus
    from ..extensions import db
    from . import jobs

    logs.configure()  # before RQ adds its own handler: one format (JSON or text) for every worker line
    app = create_app()
    if not app.config.get("REDIS_URL"):
        raise SystemExit("REDIS_URL is not set: without Redis the web process runs the runs itself.")
    with app.app_context():
        engine = db.engine
    # A forked horse must not reuse the parent's pooled connections (close=False leaves them to the parent).
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    parent = os.getpid()
    os.register_at_fork(after_in_child=lambda: prometheus.become_work_horse(parent))
    jobs.use_app(app)
    jobs.warm_up(app)
    # Work horses are forks: keep the collector off the inherited heap (fewer copy-on-write pages, no long
    # first collection in every horse).
    gc.collect()
    gc.freeze()
    return app


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seecodes.runs.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="work until the queue is empty, then exit")
    parser.add_argument("--name", default=None, help="worker name (default: random)")
    args = parser.parse_args(argv)
    # Metrics go where this host's gunicorn reads them (gunicorn.conf.py uses the same default).
    instance = os.environ.get("SEECODES_INSTANCE_PATH") or os.path.join(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "instance")
    os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", os.path.join(instance, "prometheus"))
    app = build_app()
    from .settings import setting

    connection = Redis.from_url(app.config["REDIS_URL"])
    worker = RunWorker([app.config["SEECODES_RUN_QUEUE"]], connection=connection, name=args.name,
                       maintenance_interval=setting("SEECODES_REAP_INTERVAL_SECONDS", app))
    worker.flask_app = app
    worker.work(burst=args.burst, logging_level=os.environ.get("SEECODES_LOG_LEVEL", "INFO"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
