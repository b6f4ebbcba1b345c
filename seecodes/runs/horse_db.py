"""The next work horse's PostgreSQL connection, opened by the RQ worker before the job arrives.

A work horse is a fresh fork and must not use its parent's pooled connections, so it opened its own, and
that set-up (the server forks a backend, the startup handshake) sat on every run's critical path: 4-7 ms of
a round trip that is about 70 ms in all. Instead the worker opens one spare connection while it waits for a
job, never uses it itself, and hands it to the horse it forks next:

- in the horse, the spare becomes the first connection of its (empty) pool, through the engine's
  `do_connect` event, after the same liveness check that `seecodes.db_liveness` applies to pooled
  connections (nothing to read on the socket; a ping if it has been idle for long); a spare that fails the
  check is closed and the horse connects as before;
- in the worker, the spare's socket descriptor is first pointed at /dev/null and then the connection object
  is closed, so closing it cannot tell the server goodbye on the horse's behalf;
- before handing it over, the worker warms the spare's server backend (`warm`, for runs
  seecodes.runs.recorder.warm_backend: the job's statements for a run that does not exist, rolled back), so
  that the horse's first statements do not pay for a cold backend's catalog lookups.

Each spare goes to exactly one fork, whether that fork uses it or not, so no two processes ever talk on one
connection. SQLite (the embedded default) is left alone: opening a file costs nothing worth saving.
"""
import logging
import os
import time

from rq.exceptions import StopRequested
from sqlalchemy import event

from .. import db_liveness

log = logging.getLogger(__name__)


class HorseConnections:
    def __init__(self, engine, warm=None):
        self.engine, self.warm = engine, warm
        self.connect_args = None  # (cargs, cparams) as the pool last connected with them
        self.spare, self.spare_checked_at = None, 0.0
        self.handed, self.handed_checked_at = None, 0.0
        event.listen(engine, "do_connect", self._do_connect)
        os.register_at_fork(after_in_child=self._after_fork_in_child, after_in_parent=self._after_fork_in_parent)

    @classmethod
    def install(cls, engine, warm=None) -> "HorseConnections | None":
        """`warm(connection)`, if given, runs on each spare before it is handed over and must leave it idle."""
        return cls(engine, warm) if engine.dialect.name == "postgresql" else None

    # In the worker
    def prepare(self) -> None:
        """Open the spare if there is none (called before each wait for a job); never raises."""
        if self.spare is not None:
            return
        try:
            if self.connect_args is None:  # learn the pool's connect arguments from one ordinary connect
                with self.engine.connect():
                    pass
            cargs, cparams = self.connect_args
            spare = self.engine.dialect.connect(*cargs, **cparams)
        except StopRequested:  # RQ's SIGTERM handler ending the worker's wait: the worker's, not a failure
            raise
        except Exception as error:  # the horse will connect by itself, as without a spare
            log.warning("could not open the next job's database connection (%s)", error.__class__.__name__)
            return
        if self.warm is not None and not self._warmed(spare):
            return
        self.spare, self.spare_checked_at = spare, time.monotonic()

    def _warmed(self, spare) -> bool:
        """Warm the spare; a spare that fails or is left inside a transaction is closed, not handed over."""
        from psycopg.pq import TransactionStatus

        try:
            self.warm(spare)
            if spare.info.transaction_status == TransactionStatus.IDLE:
                return True
            problem = "left a transaction open"
        except StopRequested:
            _close(spare)
            raise
        except Exception as error:
            problem = f"{error.__class__.__name__}: {str(error)[:200]}"
        log.warning("could not warm the next job's database connection (%s)", problem)
        _close(spare)
        return False

    def close(self) -> None:
        """At the worker's exit: the spare was never handed over, so close it properly."""
        spare, self.spare = self.spare, None
        if spare is not None:
            try:
                spare.close()
            except Exception:
                pass

    def _after_fork_in_parent(self) -> None:
        spare, self.spare = self.spare, None
        if spare is not None:
            _forget(spare)

    # In the horse
    def _after_fork_in_child(self) -> None:
        self.handed, self.handed_checked_at, self.spare = self.spare, self.spare_checked_at, None

    def _do_connect(self, _dialect, _record, cargs, cparams):
        self.connect_args = (tuple(cargs), dict(cparams))
        handed, self.handed = self.handed, None
        if handed is not None and self._usable(handed):
            return handed
        return None  # SQLAlchemy connects as usual

    def _usable(self, connection) -> bool:
        try:
            if connection.closed or db_liveness.socket_has_data(connection):
                raise ConnectionError("closed by the server")
            if time.monotonic() - self.handed_checked_at > db_liveness.IDLE_PING_SECONDS:
                self.engine.dialect.do_ping(connection)
            return True
        except Exception:
            try:
                connection.close()  # the horse owns it now
            except Exception:
                pass
            return False


def _close(connection) -> None:
    try:
        connection.close()
    except Exception:
        pass


def _forget(connection) -> None:
    """Drop the worker's handle on a connection that a horse now owns, without a word to the server."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, connection.fileno())
        finally:
            os.close(devnull)
        connection.close()  # libpq's goodbye goes to /dev/null; the horse's copy of the socket stays open
    except Exception:
        log.warning("could not release a handed-over database connection", exc_info=True)
