"""Getting a queued run to a job: an RQ queue when REDIS_URL is set, else an in-process executor."""
import contextvars
import importlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from flask import current_app
from redis.exceptions import RedisError
from rq import Queue
from .. import after_commit, request_ids
from ..errors import Unavailable
from ..extensions import db
from ..queueing import redis_connection
from ..settings import setting

log = logging.getLogger(__name__)

JOB_FUNCTION = "seecodes.runs.jobs.execute_run"
EXECUTOR_KEY = "seecodes.runs.executor"
# Finished jobs stay in Redis long enough for the reaper to tell "finished" from "vanished".
RESULT_TTL_SECONDS = 24 * 3600
FAILURE_TTL_SECONDS = 7 * 24 * 3600
# Job meta set by a job that failed because the database was down: the reaper's re-queue does not count it.
INFRASTRUCTURE_META = "seecodes.infrastructure"


def queue(app=None) -> Queue | None:
    app = app or current_app
    connection = redis_connection()
    if connection is None:
        return None
    return Queue(app.config["SEECODES_RUN_QUEUE"], connection=connection)


def enqueue(run_id: str) -> None:
    """Hand the run to a job. On Redis this happens inside the start transaction, before its commit."""
    rq_queue = queue()
    if rq_queue is None:
        _submit_after_commit(run_id)
        return
    try:
        rq_queue.enqueue(JOB_FUNCTION, run_id, job_id=run_id,
                         job_timeout=setting("SEECODES_RUN_TIMEOUT_SECONDS"),
                         result_ttl=RESULT_TTL_SECONDS, failure_ttl=FAILURE_TTL_SECONDS,
                         description=f"run {run_id}", meta={"request_id": request_ids.current()})
    except RedisError as error:
        raise Unavailable(f"The run queue is unavailable ({error.__class__.__name__}); nothing was charged.",
                          code="queue_unavailable")


# The embedded default: the job may only see the run once the start transaction is committed, and a
# rolled-back start must submit nothing, so submission waits for the session's commit.
def _submit_after_commit(run_id: str) -> None:
    app = current_app._get_current_object()
    after_commit.call(db.session(), lambda: submit(app, run_id))


class Executor:
    """The embedded default's background threads, running the same job function as RQ workers do."""

    def __init__(self, app):
        self.app = app
        self.pool = ThreadPoolExecutor(max_workers=setting("SEECODES_RUN_THREADS", app),
                                       thread_name_prefix="seecodes-run")

    def submit(self, run_id: str):
        # The job's log lines carry the request id of the start that submitted it.
        return self.pool.submit(contextvars.copy_context().run, self._in_app, run_id)

    def _in_app(self, run_id):
        # Resolved by name, as RQ does: the job sits above dispatch and is not imported by it.
        module, function = JOB_FUNCTION.rsplit(".", 1)
        with self.app.app_context():
            try:
                return getattr(importlib.import_module(module), function)(run_id)
            except Exception:
                # The job already marked its run failed and refunded it; there is no RQ to tell.
                log.exception("background run %s failed", run_id)
            finally:
                db.session.remove()

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)


def executor(app) -> Executor:
    found = app.extensions.get(EXECUTOR_KEY)
    if found is None:
        with _executor_lock:
            found = app.extensions.get(EXECUTOR_KEY)
            if found is None:
                found = app.extensions[EXECUTOR_KEY] = Executor(app)
    return found


_executor_lock = threading.Lock()


def submit(app, run_id: str):
    return executor(app).submit(run_id)


def shutdown(app, wait: bool = True) -> None:
    """Let in-process runs finish (tests and orderly exits)."""
    found = app.extensions.pop(EXECUTOR_KEY, None)
    if found is not None:
        found.shutdown(wait=wait)
