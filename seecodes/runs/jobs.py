"""The run job, the same function on RQ workers and on the embedded executor.

It claims the run with conditional UPDATEs (queued -> in_process -> processing_remote -> succeeded), so
two deliveries of one job never both run it; on any failure it marks the run failed, refunds it once
and re-raises, so RQ records the failure too. An object store that is down is an outage, not the run's
failure: under RQ the run goes back to queued for the reaper to re-queue, as when the database is down.
"""
import io
import logging
import os
import socket
import threading
import time
import zipfile

from flask import current_app, has_app_context
from sqlalchemy.exc import InterfaceError, OperationalError

from .. import clock, prometheus, request_ids, storage
from ..errors import NotFound
from ..extensions import db
from ..storage import keys
from . import dispatch, providers, recorder, rules, state
from .models import IN_PROCESS, INITIALIZED, PROCESSING_REMOTE, QUEUED, SUCCEEDED
from ..settings import setting

log = logging.getLogger(__name__)

_app = None  # set once per worker process by seecodes.runs.worker


def use_app(app) -> None:
    global _app
    _app = app


def execute_run(run_id: str) -> str:
    """Entry point of the job; answers what happened (succeeded, failed raises, skipped)."""
    if has_app_context():
        with prometheus.job_timer():
            return _logged(run_id, RunJob(current_app._get_current_object(), run_id).execute())
    if _app is None:
        raise RuntimeError("No Flask app: run jobs with `python -m seecodes.runs.worker`.")
    request_ids.bind_from_current_job()
    with _app.app_context(), prometheus.job_timer():
        try:
            return _logged(run_id, RunJob(_app, run_id).execute())
        finally:
            db.session.remove()


def _logged(run_id: str, outcome: str) -> str:
    log.info("run %s job ended: %s", run_id, outcome)  # carries the request id of the start that queued it
    return outcome


def _rq_timeout() -> int | None:
    """The timeout RQ enforces on this job (set by the web process that queued it)."""
    from rq import get_current_job

    job = get_current_job()
    return int(job.timeout) if job is not None and job.timeout and job.timeout > 0 else None


def warm_up(app) -> None:
    """Compile the job's statements once in the worker's parent process, so that every forked work horse
    inherits them compiled (SQLAlchemy's caches live in process memory); nothing is written."""
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm import configure_mappers

    with app.app_context():
        configure_mappers()
        storage.get(app)
        if db.engine.dialect.name == "postgresql":  # the horse records its steps with these (ConnectionExecutor)
            recorder.compile_statements(db.engine.dialect)
        try:
            if db.engine.dialect.name != "postgresql":
                recorder.warm_session()
            with db.session.begin_nested():
                state.log("run_" + "0" * 24, "warm-up")  # a failure's log line; refused by the foreign key
        except IntegrityError:
            pass
        except Exception:  # a warm-up only saves time; the worker must still start with the database down
            log.warning("job warm-up failed", exc_info=True)
        finally:
            db.session.rollback()
            db.session.remove()


def _note_infrastructure_failure(reason: str) -> None:
    """Tell the reaper (through the RQ job's meta) that this job failed for the infrastructure, not the run."""
    from redis.exceptions import RedisError
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        return
    job.meta[dispatch.INFRASTRUCTURE_META] = reason
    try:
        job.save_meta()
    except RedisError:  # then the job's failure is not recorded either, and the reaper sees it gone
        pass


def storage_outage(error: BaseException) -> bool:
    """The object store could not be reached or used (seecodes.storage.s3 raises 503 storage_unavailable)."""
    return getattr(error, "code", None) == "storage_unavailable"


class RunFailed(Exception):
    """A failure whose message is the run's `error`."""


def describe(error: BaseException, timeout: int) -> str:
    if isinstance(error, (RunFailed, providers.ProviderError)):
        return str(error)
    if error.__class__.__name__ == "JobTimeoutException":
        return f"The run exceeded its time limit of {timeout} s."
    if getattr(error, "detail", None):  # a DomainError, e.g. storage unavailable
        return str(error.detail)
    return f"Internal error while running ({error.__class__.__name__})."


class Heartbeat(threading.Thread):
    """Refreshes heartbeat_at while the job works, so the reaper can tell a dead job from a slow one."""

    def __init__(self, app, run_id: str, interval: float):
        super().__init__(name=f"heartbeat-{run_id}", daemon=True)
        self.app, self.run_id, self.interval = app, run_id, interval
        self.done = threading.Event()
        self.settled_elsewhere = threading.Event()  # the run left the active statuses (a cancel): stop working

    def run(self):
        while not self.done.wait(self.interval):
            with self.app.app_context():
                beat = None
                try:
                    beat = recorder.recorder()
                    if not beat.heartbeat(self.run_id):
                        self.settled_elsewhere.set()
                except Exception:
                    log.warning("heartbeat of %s failed", self.run_id, exc_info=True)
                finally:
                    if beat is not None:
                        beat.close()
                    db.session.remove()

    def stop(self):
        self.done.set()


class RunJob:
    def __init__(self, app, run_id: str):
        self.app, self.run_id = app, run_id
        self.timeout = _rq_timeout() or setting("SEECODES_RUN_TIMEOUT_SECONDS", app)

    def execute(self) -> str:
        try:
            self.recorder = recorder.recorder()
        except (OperationalError, InterfaceError) as error:
            _note_infrastructure_failure(f"database unavailable ({error.__class__.__name__})")
            raise
        try:
            return self.claim_and_perform()
        finally:
            self.recorder.close()

    def claim_and_perform(self) -> str:
        try:
            run = self.claim()
        except (OperationalError, InterfaceError) as error:
            _note_infrastructure_failure(f"database unavailable ({error.__class__.__name__})")
            raise
        if run is None:
            return "skipped"
        started = time.monotonic()
        heartbeat = Heartbeat(self.app, self.run_id, setting("SEECODES_RUN_HEARTBEAT_SECONDS", self.app))
        heartbeat.start()
        try:
            return self.perform(run, started, heartbeat.settled_elsewhere)
        except providers.Stopped:
            return self.abandon()
        except BaseException as error:
            if not (storage_outage(error) and self.requeue_for_outage(error)):
                self.fail(error)
            raise
        finally:
            heartbeat.stop()

    def claim(self):
        """queued -> in_process; answers the run's inputs and provider (Recorder.claim), or None. On PostgreSQL
        the UPDATE waits for an uncommitted start to settle; otherwise (SQLite, or a start that rolled back)
        poll briefly, then leave without side effects."""
        deadline = time.monotonic() + setting("SEECODES_RUN_CLAIM_WAIT_SECONDS", self.app)
        while True:
            run = self.recorder.claim(self.run_id, f"{socket.gethostname()} pid {os.getpid()}")
            if run is not None:
                return run
            status = self.recorder.status(self.run_id)
            if status != INITIALIZED or time.monotonic() >= deadline:
                log.info("run %s not claimed (status %s)", self.run_id, status)
                return None
            time.sleep(0.05)

    def note(self, line: str) -> None:
        self.recorder.note(self.run_id, line)

    def perform(self, run, started: float, stop: threading.Event) -> str:
        # `run` is a plain row (from the claim), not an ORM instance: nothing expires at the job's own commits.
        if run.provider is None:
            raise RunFailed(f"Model {run.model_id!r} is no longer in the catalog.")
        provider = providers.for_model(run.provider, run.provider_config)
        store = storage.get(self.app)
        files = [(name, self.read_input(store, name, (run.input_versions or {}).get(name))) for name in run.files]
        sizes = {name: len(data) for name, data in files}
        tokens = rules.estimate_input_tokens(sizes, run.user_prompt)
        if tokens > (run.estimated_input_tokens or 0):
            raise RunFailed("The inputs changed after the run was started; start a new run.")
        if not self.recorder.start_remote(self.run_id, f"processing_remote: read {len(files)} file(s), "
                                          f"{sum(sizes.values())} bytes, ~{tokens} input tokens; calling "
                                          f"{provider.describe()}"):
            return self.abandon()

        self.recorder.release()  # no database connection held while the provider works
        called = time.monotonic()
        completion = provider.complete(
            providers.Request(run.model_id, files, run.user_prompt, started + self.timeout,
                              run.estimated_input_tokens, stop), self.note)
        elapsed = time.monotonic() - called
        output = completion.text.encode("utf-8")
        summary = (f"succeeded: provider answered in {elapsed:.2f} s; {completion.input_tokens} input tokens, "
                   f"{completion.output_tokens} output tokens, {len(output)} bytes of output")
        output_key = keys.result_key(self.run_id, keys.OUTPUT_NAME)
        zip_key = keys.result_key(self.run_id, keys.ZIP_NAME)
        store.write(output_key, output, "text/markdown; charset=utf-8")
        store.write(zip_key, self.result_zip(output, summary), "application/zip")
        if not self.recorder.succeed(self.run_id, summary, output_key=output_key, result_zip_key=zip_key,
                                     input_tokens=completion.input_tokens, output_tokens=completion.output_tokens,
                                     finished_at=clock.now()):
            return self.abandon()
        return SUCCEEDED

    def read_input(self, store, name: str, version: dict | None) -> bytes:
        """Exactly the version that start measured and priced, never more than its size + 1 bytes in memory (a
        run queued before start recorded versions, at an upgrade: the object as it is now)."""
        key = keys.input_key(self.run_id, name)
        missing = RunFailed(f"The input file {name!r} is no longer in storage.")
        try:
            expected = storage.ObjectVersion.from_document(version) if version else store.head(key)
            if expected is None:
                raise missing
            return store.read_version(key, expected)
        except NotFound:
            raise missing
        except storage.ObjectChanged:
            raise RunFailed("The inputs changed after the run was started; start a new run.")

    def result_zip(self, output: bytes, last_line: str) -> bytes:
        log_text = self.recorder.log_text(self.run_id) + f"{clock.iso(clock.now(), micro=True)} {last_line}\n"
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(keys.OUTPUT_NAME, output)
            archive.writestr(keys.LOG_NAME, log_text)
        return buffer.getvalue()

    def abandon(self) -> str:
        """Someone else settled the run meanwhile (the reaper failed it, or the user cancelled it; either refunded
        it): keep it so, and discard this job's work."""
        db.session.rollback()
        log.warning("run %s was settled by another actor; result discarded", self.run_id)
        return "abandoned"

    def requeue_for_outage(self, error: BaseException) -> bool:
        """Object storage was down: put the run back to queued and mark the RQ job, so that the reaper re-queues
        it without counting a re-queue, as for a job that found the database down. False (fail the run) without
        an RQ job to re-queue (the embedded executor) or when the database cannot record it."""
        from rq import get_current_job

        if get_current_job() is None:
            return False
        reason = f"object storage unavailable ({describe(error, self.timeout)})"
        _note_infrastructure_failure(reason)
        try:
            db.session.rollback()
            if state.move(self.run_id, (IN_PROCESS, PROCESSING_REMOTE), QUEUED, heartbeat_at=clock.now()):
                state.log(self.run_id, f"queued: {reason}; the reaper re-queues it (not counted)")
            db.session.commit()
        except Exception:
            log.exception("could not put run %s back to queued; failing it", self.run_id)
            db.session.rollback()
            return False
        log.warning("run %s back to queued: %s", self.run_id, reason)
        return True

    def fail(self, error: BaseException) -> None:
        message = describe(error, self.timeout)
        log.warning("run %s failed: %s", self.run_id, message)
        try:
            db.session.rollback()
            state.fail(self.run_id, message)
            db.session.commit()
        except Exception:
            log.exception("could not mark run %s failed; the reaper will", self.run_id)
            db.session.rollback()
