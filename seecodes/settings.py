"""The numeric settings of runs, storage, the scheduler, readiness and the worker: app config first, then the
environment, then the documented default. It imports nothing of the app, so every layer may read it."""
import os

from flask import current_app, has_app_context

DEFAULTS = {
    "SEECODES_RUN_TIMEOUT_SECONDS": 600,
    "SEECODES_RUN_STALE_SECONDS": 120,
    # How often a running job refreshes its heartbeat; must stay well below the stale age.
    "SEECODES_RUN_HEARTBEAT_SECONDS": 10,
    # How long a job waits for the start transaction that queued it to become visible.
    "SEECODES_RUN_CLAIM_WAIT_SECONDS": 5,
    # Threads of the embedded default's in-process executor.
    "SEECODES_RUN_THREADS": 2,
    # How often every live process (web workers, worker supervisors) runs the reaper (seecodes/scheduler.py).
    "SEECODES_REAP_INTERVAL_SECONDS": 60,
    # How often an RQ worker refreshes its heartbeat in Redis, idle or busy (/readyz reads it).
    "SEECODES_WORKER_HEARTBEAT_SECONDS": 10,
    # First and longest pause before `make worker` restarts an RQ worker that exited (doubling in between).
    "SEECODES_WORKER_RESTART_SECONDS": 1,
    "SEECODES_WORKER_RESTART_MAX_SECONDS": 30,
    # /readyz fails when the oldest queued run has waited longer than this.
    "SEECODES_READY_MAX_QUEUE_AGE_SECONDS": 600,
    # A queued run whose job vanished is re-queued at most this many times, then failed.
    "SEECODES_RUN_MAX_REQUEUES": 3,
    # Lifetime of presigned / signed storage URLs.
    "SEECODES_STORAGE_URL_TTL_SECONDS": 3600,
    "SEECODES_MAX_UPLOAD_BYTES": 10 * 1024 * 1024,
    # Retry-After of a status poll while the run works (GET /v1/tasks/{runId}).
    "SEECODES_POLL_INTERVAL_SECONDS": 2,
    # With Redis: how long a conditional poll may be answered 304 from Redis (seecodes/runs/poll_tags.py) after
    # a change whose invalidation could not reach Redis, or that bypassed the app.
    "SEECODES_POLL_TAG_TTL_SECONDS": 10,
    # Run data lifetime (seecodes/runs/lifetime.py): an initialized run not started within this time expires
    # (failed, its uploads deleted); a settled run's inputs, outputs and log are removed after the retention;
    # an installation has at most this many initialized runs at a time.
    "SEECODES_RUN_INIT_TTL_SECONDS": 24 * 3600,
    "SEECODES_RUN_DATA_RETENTION_DAYS": 30,
    "SEECODES_MAX_OPEN_RUNS": 20,
    # Live request-key chains kept per (installation, user); beyond it the least recently used are superseded.
    "SEECODES_REQUEST_KEY_MAX_CHAINS": 32,
    # Retention pruning (seecodes/retention.py): its period, and how long spent credentials (consumed, superseded
    # or expired request keys; expired launch codes and permits) and security events are kept.
    "SEECODES_PRUNE_INTERVAL_SECONDS": 3600,
    "SEECODES_CREDENTIAL_RETENTION_DAYS": 7,
    "SEECODES_SECURITY_EVENT_RETENTION_DAYS": 90,
}


def raw(name: str, app=None):
    """The setting as given (app config, else the environment, else DEFAULTS), not yet converted; outside an app
    context the environment and the defaults only."""
    app = app or (current_app if has_app_context() else None)
    value = app.config.get(name) if app is not None else None
    if value is None:
        given = os.environ.get(name)
        value = given if given not in (None, "") else DEFAULTS[name]
    return value


def setting(name: str, app=None) -> int:
    return int(raw(name, app))


def metrics_token(app=None) -> str | None:
    """The bearer token GET /metrics (and /readyz's details) require; None: metrics are disabled."""
    app = app or current_app
    return app.config.get("SEECODES_METRICS_TOKEN") or os.environ.get("SEECODES_METRICS_TOKEN") or None
