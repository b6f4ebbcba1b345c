"""Prometheus metrics (prometheus_client; multiprocess when PROMETHEUS_MULTIPROC_DIR is set): the counters every module
counts with and the gunicorn hooks of the metric files. It imports nothing of the app but seecodes.after_commit
(a bottom module), so anything may count; what reads the app to answer GET /metrics is seecodes.metrics_endpoint."""
import os
import time

from prometheus_client import Counter, Histogram
from prometheus_client import disable_created_metrics, values as _values

from . import after_commit


def _process_identity():
    """The file name part of this process's metric files. An RQ work horse (one at a time per worker) takes
    over its worker's horse files instead of leaving a new set of files per job."""
    return _horse_of or os.getpid()


_horse_of = None
disable_created_metrics()  # the *_created series only double the exposition
if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], mode=0o700, exist_ok=True)
    _values.ValueClass = _values.MultiProcessValue(_process_identity)


def become_work_horse(parent_pid: int) -> None:
    """Called in every forked RQ work horse (see seecodes.runs.worker)."""
    global _horse_of
    _horse_of = f"{parent_pid}horse"


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
JOB_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)

HTTP_REQUESTS = Counter("seecodes_http_requests", "HTTP requests answered, by route template, method and status",
                        ["route", "method", "status"])
HTTP_LATENCY = Histogram("seecodes_http_request_duration_seconds", "Time to answer a request, by route and method",
                         ["route", "method"], buckets=LATENCY_BUCKETS)
ERRORS = Counter("seecodes_errors", "Error envelopes sent, by status and error code", ["status", "code"])
CREDENTIAL_REFUSALS = Counter("seecodes_credential_refusals",
                              "401/403 refusals of a Forge token, request key, launch code or permit, by error code",
                              ["code"])
RATE_LIMITED = Counter("seecodes_rate_limit_refusals", "429 answers, by error code", ["code"])
RUN_TRANSITIONS = Counter("seecodes_run_transitions", "Committed run state changes", ["source", "target"])
JOB_DURATION = Histogram("seecodes_run_job_duration_seconds", "Duration of run jobs, by outcome", ["outcome"],
                         buckets=JOB_BUCKETS)
PROVIDER_LATENCY = Histogram("seecodes_provider_request_duration_seconds",
                             "Duration of one provider call (one attempt), by model and provider",
                             ["model", "provider"], buckets=JOB_BUCKETS)
PROVIDER_RETRIES = Counter("seecodes_provider_retries", "Provider attempts that failed and were retried", ["model"])
PROVIDER_ERRORS = Counter("seecodes_provider_errors", "Provider calls that failed for good", ["model"])
PROVIDER_TOKENS = Counter("seecodes_provider_tokens", "Tokens the provider reported, by model and direction",
                          ["model", "direction"])
CREDITS_DEBITED = Counter("seecodes_credits_debited", "Credits debited for runs (committed)")
CREDITS_REFUNDED = Counter("seecodes_credits_refunded", "Credits refunded for failed runs (committed)")
REAPER_ACTIONS = Counter("seecodes_reaper_actions", "Runs repaired by the reaper, by action", ["action"])
PRUNED_ROWS = Counter("seecodes_pruned_rows", "Rows removed by retention pruning, by table", ["table"])



def run_moved(session, sources, target: str) -> None:
    source = sources if isinstance(sources, str) else (sources[0] if len(sources) == 1 else "active")
    after_commit.call(session, lambda: RUN_TRANSITIONS.labels(source, target).inc())


def credits_debited(session, credits: int) -> None:
    after_commit.call(session, lambda: CREDITS_DEBITED.inc(credits))


def credits_refunded(session, credits: int) -> None:
    after_commit.call(session, lambda: CREDITS_REFUNDED.inc(credits))


def reaped(outcome) -> None:
    REAPER_ACTIONS.labels("failed").inc(len(outcome.failed))
    REAPER_ACTIONS.labels("requeued").inc(len(outcome.requeued))


# Label values come from fixed sets, so that no client can grow the number of series (each series costs every
# process's metrics file and every scrape): gunicorn hands any 3-20 character method token to the app.
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"
UNMATCHED_ROUTE = "unmatched"


def method_label(method: str) -> str:
    return method if method in HTTP_METHODS else OTHER


def count_error(status: int, code: str) -> None:
    """`code` is one of errors.ERROR_CODES or `other` (errors.envelope maps it)."""
    ERRORS.labels(str(status), code).inc()
    if status in (401, 403):
        CREDENTIAL_REFUSALS.labels(code).inc()
    elif status == 429:
        RATE_LIMITED.labels(code).inc()


class job_timer:
    """`with job_timer():` around a run job; the outcome label is succeeded, failed or skipped."""

    def __enter__(self):
        self.started = time.monotonic()
        return self

    def __exit__(self, kind, error, _tb):
        JOB_DURATION.labels("failed" if kind else "finished").observe(time.monotonic() - self.started)
        return False


# --- gunicorn hooks -------------------------------------------------------------------------------------

def prepare_directory(path: str) -> None:
    """At gunicorn's and the worker's start: create the folder (this user's only) and remove the files of
    processes that are gone. prometheus_client wants the folder wiped between runs; it is shared by a
    deployment's gunicorn and workers on a host (seecodes.metrics_folder), so only the files of dead
    processes go and a live process's keep counting. The folder stays bounded; counters of a finished process
    drop out, which Prometheus reads as a reset."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    for name in os.listdir(path):
        if not name.endswith(".db"):
            continue
        owner = name.rsplit("_", 1)[-1][:-3].removesuffix("horse")
        if owner.isdigit() and not _alive(int(owner)):
            try:
                os.unlink(os.path.join(path, name))
            except FileNotFoundError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_exited(pid: int) -> None:
    """gunicorn child_exit: the dead worker's live gauges leave the sum."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)
