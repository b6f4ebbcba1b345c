"""The worker opens the next work horse's PostgreSQL connection before the job arrives (seecodes.runs.horse_db)."""
import os
import time

import pytest
from sqlalchemy import create_engine, text

from seecodes.runs.horse_db import HorseConnections

from ..production import PG_URL

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def engine():
    engine = create_engine(PG_URL)
    yield engine
    engine.dispose()


def _backend_pid(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _alive(engine, pid: int) -> bool:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                  {"pid": pid}).scalar_one() == 1


def _fork_and_ask_backend_pid(engine) -> int:
    """Fork like RQ does (the child drops the pool it inherited); once the parent's after-fork hooks have run,
    the child reports the backend pid of its first connection."""
    ready_read, ready_write = os.pipe()
    answer_read, answer_write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the work horse
        code = 1
        try:
            engine.dispose(close=False)
            os.read(ready_read, 1)
            os.write(answer_write, str(_backend_pid(engine)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(ready_read)
    os.close(answer_write)  # so that a child that dies unanswered ends the read below
    os.write(ready_write, b"x")
    answer = os.read(answer_read, 64)
    _, status = os.waitpid(pid, 0)
    os.close(ready_write)
    os.close(answer_read)
    assert os.waitstatus_to_exitcode(status) == 0 and answer
    return int(answer)


def test_the_horse_uses_the_connection_opened_before_the_fork_and_the_worker_cannot_close_it(engine):
    horses = HorseConnections(engine)
    horses.prepare()
    spare_pid = horses.spare.info.backend_pid
    assert spare_pid != _backend_pid(engine)  # the worker's own pool never uses the spare

    # The worker has already dropped its handle (and libpq said goodbye into /dev/null) when the horse queries.
    assert _fork_and_ask_backend_pid(engine) == spare_pid
    assert horses.spare is None  # handed to exactly one fork
    assert wait_gone(engine, spare_pid)  # the horse exited: its connection is gone with it

    horses.prepare()  # the next job's
    assert horses.spare is not None and horses.spare.info.backend_pid != spare_pid
    horses.close()


def test_a_spare_closed_by_the_server_is_not_used_and_the_horse_connects_by_itself(engine):
    horses = HorseConnections(engine)
    horses.prepare()
    spare_pid = horses.spare.info.backend_pid
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": spare_pid})
        connection.commit()
    assert wait_gone(engine, spare_pid)
    time.sleep(0.05)  # the server's goodbye has reached the spare's socket
    horse_pid = _fork_and_ask_backend_pid(engine)
    assert horse_pid != spare_pid


def test_without_a_spare_the_horse_connects_as_before(engine):
    HorseConnections(engine)  # never prepared: e.g. the database was down while the worker waited
    assert _fork_and_ask_backend_pid(engine) > 0


def wait_gone(engine, pid: int, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while _alive(engine, pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_spare_is_warmed_before_the_fork_writing_nothing_and_left_idle(engine, app):
    """The worker runs the job's statements once on the spare, for a run that does not exist (its backend has
    then loaded the job's tables and planned the log's foreign-key check), and hands it over idle."""
    from psycopg.pq import TransactionStatus

    from seecodes.runs import recorder

    warmed = []

    def warm(connection):
        warmed.append(connection)
        recorder.warm_backend(connection, engine.dialect)

    horses = HorseConnections(engine, warm=warm)
    horses.prepare()
    assert warmed == [horses.spare]
    assert horses.spare.info.transaction_status == TransactionStatus.IDLE
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM run_log_lines WHERE line = 'warm-up'")).scalar_one() == 0
    horses.close()


def test_a_spare_whose_warm_up_failed_is_not_handed_over(engine):
    def broken(connection):
        connection.execute("SELECT 1")  # leaves a transaction open
        raise RuntimeError("warm-up failed")

    horses = HorseConnections(engine, warm=broken)
    horses.prepare()
    assert horses.spare is None
    assert _fork_and_ask_backend_pid(engine) > 0  # the horse connects by itself


def test_a_stop_requested_while_the_spare_is_prepared_reaches_the_worker(engine):
    """RQ raises StopRequested from its SIGTERM handler to end an idle worker's wait; one that arrives while the
    spare is opened or warmed must not be taken for a database problem and swallowed (the worker would then
    wait for the next job and ignore the SIGTERM)."""
    from rq.exceptions import StopRequested

    warmed = []

    def interrupted(connection):
        warmed.append(connection)
        raise StopRequested()

    horses = HorseConnections(engine, warm=interrupted)
    with pytest.raises(StopRequested):
        horses.prepare()
    assert horses.spare is None and warmed and warmed[0].closed

    def connect_interrupted(*_args, **_kwargs):
        raise StopRequested()

    plain = HorseConnections(engine)
    plain.connect_args = ((), {})
    engine.dialect.connect, original = connect_interrupted, engine.dialect.connect
    try:
        with pytest.raises(StopRequested):
            plain.prepare()
    finally:
        engine.dialect.connect = original


def test_a_sigterm_while_the_spare_is_prepared_is_handled_once_it_is_ready():
    """RQ's SIGTERM handler raises StopRequested to end an idle worker's wait. Raised inside psycopg's wait for
    the server it came out as a database error, was logged as a failed warm-up, and the worker went on waiting
    for jobs: SIGTERM ignored (seen as a flaky tests/runs/test_faults_redis.py). The worker defers SIGTERM and
    SIGINT while it prepares the spare, so the handler runs right after, outside any database call."""
    import signal

    from seecodes.runs.worker import prepare_spare

    class Stop(Exception):
        pass

    def handler(_signum, _frame):
        raise Stop()

    class Spare:
        done = False

        def prepare(self):
            os.kill(os.getpid(), signal.SIGTERM)
            try:  # what a driver does with an exception raised during its wait
                time.sleep(0.05)
            except Exception:
                pass
            self.done = True

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        spare = Spare()
        with pytest.raises(Stop):
            prepare_spare(spare)
        assert spare.done
    finally:
        signal.signal(signal.SIGTERM, previous)
