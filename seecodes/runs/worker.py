"""`python -m seecodes.runs.worker` (`make worker`): a supervisor that keeps an RQ worker for the run queue alive.

RQ's own loop gives up on some Redis errors (a job that ends while Redis is down, a heartbeat that cannot be
sent), so the RQ worker runs as a child process that the supervisor restarts with backoff, however long the
outage. The supervisor also runs the periodic maintenance (the reaper) on its own clock, which neither a
long job nor a queue wait can delay. The RQ worker builds the Flask app once per process (never at import of
the job module) and drops the database pool in every forked work horse.
"""
import argparse
import ctypes
import gc
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from redis import Redis
from redis.exceptions import RedisError
from rq import Worker

from ..settings import bootstrap, instance_path, setting

log = logging.getLogger(__name__)

SUPERVISOR_PID_ENV = "SEECODES_WORKER_SUPERVISOR_PID"
PR_SET_PDEATHSIG = 1


class RunWorker(Worker):
    """RQ's forking worker that keeps watching its work horse while Redis is away.

    The run row in the database is the record of a run; RQ's job status is only bookkeeping. So when
    Redis cannot be reached while a job runs, the worker goes on waiting for the horse instead of giving
    up on it, and when the horse's outcome cannot be reported the run row already says what happened
    (the reaper settles the run if it does not).

    RQ's documented extension point for a worker is this subclass (`worker_class`); each override below
    calls RQ's own method and adds one thing, said at the method. tests/runs/test_rq_overrides.py holds the
    source digest of every overridden RQ 3.0.0 method and fails when an upgrade changes one of them.
    """

    heartbeat_seconds = 10
    supervised_name = False
    horse_connections = None  # seecodes.runs.horse_db.HorseConnections on PostgreSQL

    def dequeue_job_and_maintain_ttl(self, timeout, max_idle_time=None):
        if self.horse_connections is not None:
            prepare_spare(self.horse_connections)  # the next horse's database connection, opened while we wait
        return super().dequeue_job_and_maintain_ttl(timeout, max_idle_time)

    @property
    def dequeue_timeout(self) -> int:
        # An idle worker refreshes its heartbeat this often; /readyz reads it to tell a live worker.
        return max(1, self.heartbeat_seconds)

    def maintain_heartbeats(self, job, execution):
        try:
            super().maintain_heartbeats(job, execution)
        except RedisError as error:
            log.warning("Redis unavailable while job %s runs (%s); the job goes on", job.id, error.__class__.__name__)

    def monitor_work_horse(self, job, queue, execution):
        try:
            super().monitor_work_horse(job, queue, execution)
        except RedisError as error:
            log.warning("job %s ended but Redis is unavailable to record it (%s); its run row is the record",
                        job.id, error.__class__.__name__)

    def setup_work_horse_signals(self):
        # systemd's default stop (KillMode=control-group) and `kill -TERM -<group>` send SIGTERM to every
        # process, the horse included; RQ's horse dies on it (SIG_DFL) and the run in flight is lost. The
        # worker decides instead: a first SIGTERM is its warm shutdown (the horse finishes the run), a second
        # one or the job's timeout makes it kill the horse with SIGKILL, which cannot be ignored. RQ's own
        # spawning worker ignores SIGTERM in its horse the same way.
        super().setup_work_horse_signals()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def register_birth(self):
        # A restarted worker of the same name finds its predecessor's registration: Redis was down when the
        # predecessor tried to remove it. The supervisor runs one child at a time, so it is stale.
        if self.supervised_name:
            self.connection.delete(self.key)
        super().register_birth()


def prepare_spare(horse_connections) -> None:
    """Open and warm the next horse's connection with SIGTERM and SIGINT deferred: RQ's handler for them raises
    StopRequested to end an idle worker's wait, and raised in the middle of a psycopg call it came out as a
    database error (the SIGTERM was lost, and the connection left mid-command). While the spare is prepared
    the signal is only noted; RQ's handler then runs for it, outside any database call. (Blocking the signal
    in this thread would not do: Python runs handlers in the main thread whichever thread the signal hit.)"""
    noted = []
    deferred = {number: signal.signal(number, lambda signum, frame: noted.append((signum, frame)))
                for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        horse_connections.prepare()
    finally:
        for number, handler in deferred.items():
            signal.signal(number, handler)
    if noted:  # the first one: RQ's handler raises, or changes the handlers for a second signal
        signum, frame = noted[0]
        handler = deferred[signum]
        if callable(handler):
            handler(signum, frame)
        elif handler == signal.SIG_DFL:
            signal.raise_signal(signum)


def build_app():
    from .. import create_app, logs, prometheus
    from ..extensions import db
    from . import horse_db, jobs, recorder

    logs.configure()  # before RQ adds its own handler: one format (JSON or text) for every worker line
    app = create_app()
    if not app.config.get("REDIS_URL"):
        raise SystemExit("REDIS_URL is not set: without Redis the web process runs the runs itself.")
    with app.app_context():
        engine = db.engine
    # A forked horse must not reuse the parent's pooled connections (close=False leaves them to the parent);
    # it gets one connection of its own, opened before the job arrived.
    os.register_at_fork(after_in_child=lambda: engine.dispose(close=False))
    app.extensions["seecodes.horse_connections"] = horse_db.HorseConnections.install(
        engine, warm=lambda connection: recorder.warm_backend(connection, engine.dialect))
    parent = os.getpid()
    os.register_at_fork(after_in_child=lambda: prometheus.become_work_horse(parent))
    jobs.use_app(app)
    jobs.warm_up(app)
    # Work horses are forks: keep the collector off the inherited heap (fewer copy-on-write pages, no long
    # first collection in every horse).
    gc.collect()
    gc.freeze()
    return app


def _die_with_supervisor() -> None:
    """Ask Linux to stop this worker (warm shutdown) if its supervisor dies, so no worker runs unsupervised."""
    supervisor = os.environ.get(SUPERVISOR_PID_ENV)
    if not supervisor:
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        return
    if os.getppid() != int(supervisor):  # the supervisor died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


def serve(args) -> int:
    """The RQ worker itself (the supervisor's child)."""
    _die_with_supervisor()
    app = build_app()

    connection = Redis.from_url(app.config["REDIS_URL"], socket_connect_timeout=5)
    _wait_for_redis(connection, setting("SEECODES_WORKER_RESTART_MAX_SECONDS", app))
    heartbeat = setting("SEECODES_WORKER_HEARTBEAT_SECONDS", app)
    # RQ's own maintenance (its registries: the jobs of dead workers end "failed") keeps the reaper's pace.
    worker = RunWorker([app.config["SEECODES_RUN_QUEUE"]], connection=connection, name=args.name,
                       job_monitoring_interval=heartbeat,
                       maintenance_interval=setting("SEECODES_REAP_INTERVAL_SECONDS", app))
    worker.heartbeat_seconds = heartbeat
    worker.supervised_name = args.name is not None
    worker.horse_connections = app.extensions["seecodes.horse_connections"]
    try:
        worker.work(burst=args.burst, logging_level=bootstrap("SEECODES_LOG_LEVEL"))
    except RedisError as error:  # RQ's teardown could not deregister the worker: Redis is down
        log.error("RQ worker stopped: Redis unavailable (%s)", error.__class__.__name__)
        return 3
    finally:
        if worker.horse_connections is not None:
            worker.horse_connections.close()
    return 0


def _wait_for_redis(connection, longest: float) -> None:
    """Boot once, then wait for Redis here rather than exit and boot again at each attempt."""
    pause = 0.25
    while True:
        try:
            connection.ping()
            return
        except RedisError as error:
            if pause == 0.25:
                log.warning("Redis unavailable (%s); waiting for it", error.__class__.__name__)
            time.sleep(pause)
            pause = min(pause * 2, longest)


class Supervisor:
    """Runs the RQ worker as a child and restarts it with exponential backoff until asked to stop."""

    def __init__(self, child_args: list[str], burst: bool, first_backoff: float, max_backoff: float,
                 healthy_after: float = 60.0):
        self.child_args, self.burst = child_args, burst
        self.first_backoff, self.max_backoff, self.healthy_after = first_backoff, max_backoff, healthy_after
        self.stopping = threading.Event()
        self.child = None

    def _on_signal(self, signum, _frame):
        self.stopping.set()
        child = self.child
        if child is not None and child.poll() is None:
            child.send_signal(signum)  # once: RQ reads a second SIGTERM as "kill the job now"

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        backoff = self.first_backoff
        while True:
            started = time.monotonic()
            # A process group of its own: a terminal's Ctrl+C or a group signal reaches it only through us.
            self.child = subprocess.Popen([sys.executable, "-m", "seecodes.runs.worker", "--child", *self.child_args],
                                          env={**os.environ, SUPERVISOR_PID_ENV: str(os.getpid())}, process_group=0)
            code = self.child.wait()
            if self.stopping.is_set():
                return 0
            if self.burst and code == 0:
                return 0
            if time.monotonic() - started >= self.healthy_after:
                backoff = self.first_backoff
            log.warning("RQ worker exited with status %s; restarting in %.1f s", code, backoff)
            if self.stopping.wait(backoff):
                return 0
            backoff = min(backoff * 2, self.max_backoff)


def supervise(args) -> int:
    from .. import create_app, scheduler

    app = create_app()
    if not app.config.get("REDIS_URL"):
        raise SystemExit("REDIS_URL is not set: without Redis the web process runs the runs itself.")
    if not args.burst:
        scheduler.start(app)
    child_args = (["--burst"] if args.burst else []) + (["--name", args.name] if args.name else [])
    return Supervisor(child_args, args.burst, setting("SEECODES_WORKER_RESTART_SECONDS", app),
                      setting("SEECODES_WORKER_RESTART_MAX_SECONDS", app)).run()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m seecodes.runs.worker", description=__doc__.splitlines()[0])
    parser.add_argument("--burst", action="store_true", help="work until the queue is empty, then exit")
    parser.add_argument("--name", default=None, help="worker name (default: random)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return serve(args)
    # Metrics go where this deployment's gunicorn on this host reads them (gunicorn.conf.py computes the same
    # default); the child RQ worker inherits the environment. The files of processes that are gone (an
    # earlier worker's) are removed first, as prometheus_client's multiprocess mode requires.
    from .. import metrics_folder

    folder = metrics_folder.configure(instance_path())
    from .. import logs, prometheus  # prometheus_client reads PROMETHEUS_MULTIPROC_DIR at import

    prometheus.prepare_directory(folder)

    logs.configure()
    return supervise(args)


if __name__ == "__main__":
    sys.exit(main())
