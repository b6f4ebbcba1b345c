"""GET /metrics and the per-request counting: the counters of every process (seecodes.prometheus) plus gauges read
from the database and Redis at scrape time. The top of the metrics: it reads runs, readiness and the queue, and
nothing below imports it."""
import os
import time

from flask import Blueprint, Response, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from . import ids, prometheus, readiness, settings
from .errors import NotFound, Unauthorized
from .extensions import db
from .queueing import redis_connection
from .runs.models import ACTIVE_STATUSES, Run


class QueueCollector:
    """Gauges read at scrape time: runs per active status, the oldest queued run's age, live RQ workers."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        by_status = GaugeMetricFamily("seecodes_runs", "Runs in a non-final status", labels=["status"])
        oldest = GaugeMetricFamily("seecodes_run_queue_oldest_age_seconds",
                                   "Age of the oldest queued run (0 when none)")
        rows = dict(db.session.execute(select(Run.status, func.count()).where(Run.status.in_(ACTIVE_STATUSES))
                                       .group_by(Run.status)).all())
        oldest_seconds = readiness.oldest_queued_seconds()
        db.session.rollback()
        for status in ACTIVE_STATUSES:
            by_status.add_metric([status], rows.get(status, 0))
        oldest.add_metric([], oldest_seconds)
        yield by_status
        yield oldest
        workers = self._workers()
        if workers is not None:
            gauge = GaugeMetricFamily("seecodes_rq_workers", "RQ workers of the run queue that heartbeat")
            gauge.add_metric([], workers)
            yield gauge

    def _workers(self):
        connection = redis_connection()
        if connection is None:
            return None
        try:
            return readiness.live_workers(connection, self.app.config["SEECODES_RUN_QUEUE"])
        except Exception:
            return -1  # Redis down: an alert on < 1 fires, which is right


def exposition(app) -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        process_part = generate_latest(registry)
    else:
        process_part = generate_latest(REGISTRY)
    live = CollectorRegistry()
    live.register(QueueCollector(app))
    return process_part + generate_latest(live)


def register(app) -> None:
    @app.before_request
    def _start_timer():
        request.environ["seecodes.started"] = time.perf_counter()

    @app.after_request
    def _count_request(response):
        started = request.environ.get("seecodes.started")
        # The app's own rule templates, never the raw path: a fixed set of label values.
        route = request.url_rule.rule if request.url_rule is not None else prometheus.UNMATCHED_ROUTE
        method = prometheus.method_label(request.method)
        prometheus.HTTP_REQUESTS.labels(route, method, str(response.status_code)).inc()
        if started is not None:
            prometheus.HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
        return response

    blp = Blueprint("operations_metrics", __name__)

    @blp.get("/metrics")
    def metrics():
        token = settings.metrics_token()
        if not token:
            raise NotFound("Metrics are disabled: set SEECODES_METRICS_TOKEN to enable GET /metrics.",
                           code="metrics_disabled")
        presented = request.headers.get("Authorization", "")
        if not presented.startswith("Bearer ") or not ids.same(presented[len("Bearer "):].strip(), token):
            raise Unauthorized("GET /metrics needs Authorization: Bearer <SEECODES_METRICS_TOKEN>.",
                               code="metrics_token_invalid", headers={"WWW-Authenticate": "Bearer"})
        return Response(exposition(current_app), mimetype=CONTENT_TYPE_LATEST,
                        headers={"Cache-Control": "no-store"})

    app.register_blueprint(blp)
