"""Repairing runs whose job died, timed out or vanished, so that no run stays unsettled forever.

Rules (docs/runs.md): a queued run whose RQ job is gone (or ended without claiming it) is re-queued; only a
job that ended on its own counts against SEECODES_RUN_MAX_REQUEUES (a job lost with Redis, or one that
could not reach the database, does not), and past that count the run is failed; a running run
(in_process / processing_remote) whose job is gone or ended and which no longer heartbeats, whose heartbeat
is older than SEECODES_RUN_STALE_SECONDS, or that has run longer than its timeout, is failed and refunded.
Without Redis (the embedded default) a queued run is failed once it has waited longer than the timeout plus
the stale age: its executor was lost with a restart.
"""
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from redis.exceptions import RedisError
from rq.job import Job, JobStatus
from sqlalchemy import select, update

from .. import clock, prometheus
from ..extensions import db
from ..queueing import redis_connection
from . import dispatch, state
from .models import ACTIVE_STATUSES, QUEUED, Run
from ..settings import setting

log = logging.getLogger(__name__)

WAITING_JOB = {JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED, JobStatus.CREATED,
               JobStatus.READY_TO_ENQUEUE, JobStatus.RATE_LIMITED}


@dataclass
class Outcome:
    failed: list[str] = field(default_factory=list)
    requeued: list[str] = field(default_factory=list)

    def __str__(self):
        return f"{len(self.failed)} failed and refunded, {len(self.requeued)} re-queued"


def _job_statuses(run_ids: list[str]) -> tuple[dict[str, JobStatus | None] | None, set[str]]:
    """RQ's view of each run's job (None: gone), or None without Redis; and the runs whose job failed
    because infrastructure (the database) was down, not because of the run."""
    connection = redis_connection()
    if connection is None:
        return None, set()
    jobs = Job.fetch_many(run_ids, connection=connection)
    statuses, infrastructure = {}, set()
    for run_id, job in zip(run_ids, jobs):
        try:
            statuses[run_id] = job.get_status(refresh=False) if job is not None else None
            if job is not None and job.meta.get(dispatch.INFRASTRUCTURE_META):
                infrastructure.add(run_id)
        except Exception:  # a half-written job hash counts as gone
            statuses[run_id] = None
    return statuses, infrastructure


def reap() -> Outcome:
    """One pass over the unsettled runs; each repair commits on its own."""
    outcome = Outcome()
    now = clock.now()
    stale = timedelta(seconds=setting("SEECODES_RUN_STALE_SECONDS"))
    timeout = timedelta(seconds=setting("SEECODES_RUN_TIMEOUT_SECONDS"))
    max_requeues = setting("SEECODES_RUN_MAX_REQUEUES")
    runs = db.session.execute(
        select(Run.id, Run.status, Run.heartbeat_at, Run.started_at, Run.queued_at, Run.requeues)
        .where(Run.status.in_(ACTIVE_STATUSES))
    ).all()
    db.session.rollback()
    if not runs:
        return outcome
    try:
        jobs, infrastructure = _job_statuses([run.id for run in runs])
    except RedisError as error:
        log.warning("reaper: Redis unavailable (%s); only heartbeat rules apply", error.__class__.__name__)
        jobs, infrastructure = {}, set()
    # A job that RQ no longer runs may still be alive: its worker lost Redis but not the database.
    silent = timedelta(seconds=2 * setting("SEECODES_RUN_HEARTBEAT_SECONDS"))
    for run in runs:
        job = None if jobs is None else jobs.get(run.id, "unknown")
        try:
            _repair(run, job, jobs is None, run.id in infrastructure, now, stale, silent, timeout, max_requeues,
                    outcome)
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("reaper: could not repair run %s", run.id)
    if outcome.failed or outcome.requeued:
        log.info("reaper: %s", outcome)
        prometheus.reaped(outcome)
    return outcome


def _repair(run, job, embedded, infrastructure, now, stale, silent, timeout, max_requeues, outcome) -> None:
    """Errors name what happened; state.fail adds "credits refunded" to the log line when it refunds."""
    heartbeat = run.heartbeat_at or run.queued_at or now
    if run.status == QUEUED:
        if embedded:
            if heartbeat < now - timeout - stale and state.fail(
                    run.id, "The run was lost before it started (the server restarted)",
                    (QUEUED,), _unchanged(run)):
                outcome.failed.append(run.id)
            return
        if job in WAITING_JOB or job == JobStatus.STARTED or job == "unknown":
            return  # waiting in the queue, or a worker is about to claim it (RQ cleans up dead workers' jobs)
        # A job lost with Redis (gone) or failed for want of the database says nothing about the run.
        counted = job is not None and not infrastructure
        if counted and run.requeues >= max_requeues:
            if state.fail(run.id, f"The run's job was lost {run.requeues + 1} times", (QUEUED,)):
                outcome.failed.append(run.id)
            return
        _requeue(run, counted, "the job was lost" if counted else
                 "the job was lost to an infrastructure outage (not counted)", outcome)
        return
    # in_process / processing_remote
    reason = None
    if not embedded and job != "unknown" and job != JobStatus.STARTED and heartbeat < now - silent:
        reason = "The run's job ended or vanished before the run finished"
    elif heartbeat < now - stale:
        reason = "The run's worker stopped responding"
    elif run.started_at and run.started_at < now - timeout - stale:
        reason = "The run exceeded its time limit"
    if reason and state.fail(run.id, reason, (run.status,), _unchanged(run)):
        outcome.failed.append(run.id)


def _unchanged(run):
    """No heartbeat since we looked: the job did not come back to life meanwhile."""
    column = state.RUNS.c.heartbeat_at
    return column.is_(None) if run.heartbeat_at is None else column == run.heartbeat_at


def _requeue(run, counted: bool, why: str, outcome) -> None:
    moment = clock.now()
    result = db.session.execute(
        update(Run).where(Run.id == run.id, Run.status == QUEUED, Run.requeues == run.requeues, _unchanged(run))
        .values(requeues=Run.requeues + (1 if counted else 0), heartbeat_at=moment)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return
    count = f" (re-queue {run.requeues + 1})" if counted else ""
    state.log(run.id, f"queued: {why}; re-queued by the reaper{count}")
    dispatch.enqueue(run.id)
    outcome.requeued.append(run.id)
