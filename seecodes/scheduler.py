"""Periodic maintenance in every live process (web workers, worker supervisors), one process at a time.

A task runs on a fixed grid (start, start + interval, …): a slow pass skips slots instead of shifting the
grid, so the period never drifts. Each pass takes a lock named after the task (a PostgreSQL advisory lock of a
transaction held open during the pass, or a file lock beside a SQLite database); a process that finds it taken
skips that pass. The first pass runs at once, which repairs what a previous process left behind.
"""
import fcntl
import hashlib
import logging
import math
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from flask import Flask
from sqlalchemy import text

from .extensions import db
from .settings import setting

log = logging.getLogger(__name__)

TASKS_KEY = "seecodes.scheduler.tasks"
THREAD_KEY = "seecodes.scheduler.thread"


@dataclass
class Task:
    name: str
    function: Callable[[], object]  # called inside an app context
    interval: Callable[[Flask], float]  # seconds, read from the app's settings


def _reap():
    from .runs.reaper import reap

    return reap()


def _reap_interval(app) -> float:

    return setting("SEECODES_REAP_INTERVAL_SECONDS", app)


def _prune():
    from .retention import prune

    return prune()


def _prune_interval(app) -> float:
    from .retention import prune_interval

    return prune_interval(app)


def register(app: Flask) -> None:
    """The app's maintenance tasks (add more with add_task), started on a web process's first request."""
    app.extensions[TASKS_KEY] = [Task("runs.reap", _reap, _reap_interval),
                                 Task("retention.prune", _prune, _prune_interval)]
    app.before_request(lambda: _start_quietly(app))


def _start_quietly(app: Flask) -> None:
    if enabled(app):
        start(app)  # returns the thread, which a before_request hook must not


def add_task(app: Flask, name: str, function: Callable[[], object], interval: Callable[[Flask], float]) -> None:
    app.extensions[TASKS_KEY].append(Task(name, function, interval))


def enabled(app: Flask) -> bool:
    """On unless SEECODES_SCHEDULER=off; tests (TESTING) start it themselves."""
    value = app.config.get("SEECODES_SCHEDULER")
    if value in (None, ""):
        return not app.testing
    return str(value).lower() not in ("0", "off", "false", "no")


def start(app: Flask) -> "Scheduler":
    """The process's scheduler thread, started once per process (a fork gets its own)."""
    found = app.extensions.get(THREAD_KEY)
    if found is not None and found.pid == os.getpid() and found.is_alive():
        return found
    with _start_lock:
        found = app.extensions.get(THREAD_KEY)
        if found is None or found.pid != os.getpid() or not found.is_alive():
            found = app.extensions[THREAD_KEY] = Scheduler(app, app.extensions[TASKS_KEY])
            found.start()
    return found


def stop(app: Flask) -> None:
    found = app.extensions.pop(THREAD_KEY, None)
    if found is not None:
        found.stop()


_start_lock = threading.Lock()


def next_due(previous: float, interval: float, now: float) -> float:
    """The first slot of the grid previous + k × interval that lies after now."""
    interval = max(interval, 0.05)
    return previous + interval * max(1, math.floor((now - previous) / interval) + 1)


class Scheduler(threading.Thread):
    def __init__(self, app: Flask, tasks: list[Task]):
        super().__init__(name="seecodes-scheduler", daemon=True)
        self.app, self.tasks, self.pid = app, tasks, os.getpid()
        self.stopping = threading.Event()
        self.passes: dict[str, int] = {}

    def run(self):
        now = time.monotonic()
        due = {task.name: now for task in self.tasks}
        while not self.stopping.is_set():
            for task in self.tasks:
                if due[task.name] <= time.monotonic():
                    self.run_task(task)
                    due[task.name] = next_due(due[task.name], task.interval(self.app), time.monotonic())
            self.stopping.wait(max(0.0, min(due.values()) - time.monotonic()))

    def run_task(self, task: Task) -> None:
        with self.app.app_context():
            try:
                with exclusive(task.name) as acquired:
                    if acquired:
                        task.function()
                        self.passes[task.name] = self.passes.get(task.name, 0) + 1
            except Exception:  # maintenance must never take its process down; the next slot tries again
                log.warning("scheduled task %s failed", task.name, exc_info=True)
            finally:
                db.session.remove()

    def stop(self) -> None:
        self.stopping.set()


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for PostgreSQL's advisory locks."""
    return int.from_bytes(hashlib.sha256(f"seecodes.{name}".encode()).digest()[:8], "big", signed=True)


@contextmanager
def exclusive(name: str):
    """Yield True to the one process (across hosts on PostgreSQL) that holds the lock `name`, else False."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        # A transaction-scoped lock in a transaction of its own, held open while the task works on its other
        # connections: it ends with that transaction, even if the process dies. A session lock released by a
        # later transaction stays behind on a pooled server connection when PgBouncer (transaction mode) runs
        # that transaction on another one, and every later pass finds it taken.
        with engine.connect() as connection:
            acquired = bool(connection.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                               {"k": lock_key(name)}).scalar())
            if not acquired:
                connection.rollback()  # nothing to hold: the server connection goes back to the pooler now
            try:
                yield acquired
            finally:
                connection.rollback()
        return
    path = Path(engine.url.database or ".").resolve().parent / f".{name}.lock"
    with open(path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
