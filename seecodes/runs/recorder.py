"""How the run job records its progress: each step's SQL built once here, run by one of two executors.

The steps, each a rule written once (`Step`): the claim (queued -> in_process, answering the run's inputs and
its model's provider), processing_remote, a provider's note, success (with the token counts on the usage row,
`credits.record_tokens_statement`) and the heartbeat (which also tells the job that a cancel or the reaper
settled its run); each moves the run conditionally and writes its log line only with the move. Two reads: the
run's status (the claim's wait) and its log (result.zip). A step is built from its parts in two forms:

- `single`: one statement, the parts chained as data-modifying CTEs, for autocommit (PostgreSQL);
- `sequence`: the same parts one after the other in one transaction (SQLite has no data-modifying CTE).

One `Recorder` says what each step answers; the executor says how its statements reach the database:

- `SessionExecutor`: `sequence` through the ORM session like every other writer, committed as `state`
  prescribes (SQLite, the embedded default).
- `ConnectionExecutor`: `single` in autocommit on a pooled raw psycopg connection (in a work horse, the
  connection the worker opened before the fork, seecodes.runs.horse_db), held from step to step and given back
  while the provider works. A run's own database work on its critical path is four round trips instead of
  sixteen (BEGIN, each statement, SET LOCAL, COMMIT), and the statements are compiled once per worker process,
  before the fork, so that a work horse neither builds SQLAlchemy statements nor touches the ORM's machinery
  (every page a fresh fork writes to is copied first; docs/benchmarks.md: 9.2 -> 2.5 ms CPU per run).

Both keep the commit rules of `state`: progress markers (in_process, processing_remote, a provider's note)
commit without waiting for the WAL flush, success commits synchronously and flushes every marker before it.
tests/runs/test_recorder.py runs every step through each executor a backend has, and checks that the two
record the same rows.
"""
from collections import namedtuple

import psycopg
from sqlalchemy import Integer, String, bindparam, func, insert, literal, select, true, update
from sqlalchemy.exc import DBAPIError

from .. import clock
from ..credits import service as credits
from ..extensions import db
from . import state
from .models import ACTIVE_STATUSES, IN_PROCESS, PROCESSING_REMOTE, QUEUED, SUCCEEDED
from .state import LOG_LINE, MOMENT, THE_RUN, moved_statement

RUNS, LOG_LINES, MODELS = state.RUNS, state.LOG_LINES, state.MODELS
# What the claim answers; a class made once, not per result by psycopg.
ClaimedRun = namedtuple("ClaimedRun", "id model_id files user_prompt estimated_input_tokens provider provider_config "
                                      "input_versions")
LogRow = namedtuple("LogRow", "logged_at line")
# Typed binds of success (none named like a column: in an UPDATE SQLAlchemy would take it for a SET value).
OUTPUT_KEY, RESULT_ZIP_KEY = bindparam("output_key_value", type_=String()), bindparam("result_zip_key_value",
                                                                                       type_=String())
INPUT_TOKENS, OUTPUT_TOKENS = (bindparam("input_token_count", type_=Integer()),
                               bindparam("output_token_count", type_=Integer()))


class Statement:
    """A SQLAlchemy statement, compiled once per process for the raw driver, with the values of its literal binds."""

    def __init__(self, statement):
        self.statement, self.sql, self.literals = statement, None, None

    def compiled(self, dialect) -> tuple[str, dict]:
        if self.sql is None:
            compiled = self.statement.compile(dialect=dialect)
            if "POSTCOMPILE" in compiled.string:
                raise ValueError("an expanding IN needs its values at execution; use a list of literals")
            self.literals = {name: bind.value for bind, name in compiled.bind_names.items() if bind.value is not None}
            self.sql = compiled.string
        return self.sql, self.literals


# --- the parts of the steps: each write takes the run id (THE_RUN, or the moved row's id) and the FROM to read
# it from (None, or the CTE of the move) -----------------------------------------------------------------------

def _log_line(run, source):
    """The step's line LOG_LINE at MOMENT in the run's log."""
    rows = select(run, MOMENT, LOG_LINE)
    return insert(LOG_LINES).from_select(["run_id", "logged_at", "line"],
                                         rows if source is None else rows.select_from(source))


def _tokens(run, source):
    """The provider's token counts on the run's usage row."""
    return credits.record_tokens_statement(select(run) if source is None else select(run).select_from(source),
                                           INPUT_TOKENS, OUTPUT_TOKENS)


def _async_commit():
    """A one-row CTE whose evaluation makes its statement's transaction commit without waiting for the WAL
    flush (set_config(..., true) is SET LOCAL): how a progress marker commits in autocommit; through the
    session, state.commit_progress."""
    return select(func.set_config("synchronous_commit", "off", True).label("setting")).cte("async_commit")


def _of_model(column):
    return select(column).where(MODELS.c.id == RUNS.c.model_id).scalar_subquery().label(column.name)


class Step:
    """One step of the recording: `change`, the conditional UPDATE of the run THE_RUN (None for a note), the
    `writes` that happen only with it (named (name, part) pairs), what it answers (`answer`, the run's id first),
    whether it is a progress marker (commits without the WAL flush) and the transition it counts (`counted`).
    Both forms are built here, once, from the same parts: `sequence_change` and `sequence_writes` for the
    session, `single` for the raw connection."""

    def __init__(self, change=None, writes=(), *, answer=(RUNS.c.id,), progress: bool, counted=None):
        self.progress, self.counted, self.answers = progress, counted, change is not None
        self.sequence_change = change.returning(*answer) if change is not None else None
        self.sequence_writes = tuple(write(THE_RUN, None) for _, write in writes)
        self.single = Statement(self._single(change, writes, answer))

    def _single(self, change, writes, answer):
        marker = _async_commit() if self.progress else None
        if change is None:  # a note: its one write, for the run named by THE_RUN
            (_, write), = writes
            return write(THE_RUN, marker)
        moved = change.returning(*answer).cte("moved")
        statement = select(*(moved.c[column.name] for column in answer)).select_from(
            moved if marker is None else moved.join(marker, true()))
        for name, write in writes:
            statement = statement.add_cte(write(moved.c.id, moved).cte(name))
        return statement


CLAIM = Step(moved_statement(QUEUED, IN_PROCESS, started_at=MOMENT, heartbeat_at=MOMENT,
                             attempts=RUNS.c.attempts + 1),
             [("logged", _log_line)],
             answer=(RUNS.c.id, RUNS.c.model_id, RUNS.c.files, RUNS.c.user_prompt, RUNS.c.estimated_input_tokens,
                     _of_model(MODELS.c.provider), _of_model(MODELS.c.provider_config), RUNS.c.input_versions),
             progress=True, counted=(QUEUED, IN_PROCESS))
START_REMOTE = Step(moved_statement(IN_PROCESS, PROCESSING_REMOTE), [("logged", _log_line)],
                    progress=True, counted=(IN_PROCESS, PROCESSING_REMOTE))
NOTE = Step(writes=[("logged", _log_line)], progress=True)
SUCCEED = Step(moved_statement(PROCESSING_REMOTE, SUCCEEDED, output_key=OUTPUT_KEY, result_zip_key=RESULT_ZIP_KEY,
                               input_tokens=INPUT_TOKENS, output_tokens=OUTPUT_TOKENS, finished_at=MOMENT),
               [("tokens", _tokens), ("logged", _log_line)], progress=False, counted=(PROCESSING_REMOTE, SUCCEEDED))
# Still the job's run while it is active; a run that left (cancelled, or failed by the reaper) answers nothing.
# (IN of literals, not of an expanding bind: the raw driver gets the compiled string as it is.)
HEARTBEAT = Step(update(RUNS).where(RUNS.c.id == THE_RUN, RUNS.c.status.in_([literal(s) for s in ACTIVE_STATUSES]))
                 .values(heartbeat_at=MOMENT), progress=False)
STATUS_OF = Statement(select(RUNS.c.status).where(RUNS.c.id == THE_RUN))
LOG_LINES_OF = Statement(select(LOG_LINES.c.logged_at, LOG_LINES.c.line).where(LOG_LINES.c.run_id == THE_RUN)
                         .order_by(LOG_LINES.c.id))
STEPS = (CLAIM, START_REMOTE, NOTE, SUCCEED, HEARTBEAT)
STATEMENTS = (STATUS_OF, LOG_LINES_OF) + tuple(step.single for step in STEPS)


class Recorder:
    """The job's steps, the same on every backend; `executor` runs their statements."""

    def __init__(self, executor):
        self.executor = executor

    def claim(self, run_id: str, worker: str) -> ClaimedRun | None:
        """queued -> in_process with the line that says who picked it up; the run's inputs and its model's
        provider (None when the model left the catalog), or None when the run was not queued."""
        row = self.executor.run(CLAIM, the_run=run_id, moment=clock.now(),
                                log_line=f"in_process: picked up by {worker}")
        return None if row is None else ClaimedRun(*row)

    def status(self, run_id: str) -> str | None:
        rows = self.executor.read(STATUS_OF, the_run=run_id)
        return rows[0][0] if rows else None

    def start_remote(self, run_id: str, line: str) -> bool:
        return self.executor.run(START_REMOTE, the_run=run_id, moment=clock.now(), log_line=line) is not None

    def note(self, run_id: str, line: str) -> None:
        self.executor.run(NOTE, the_run=run_id, moment=clock.now(), log_line=line)

    def log_text(self, run_id: str) -> str:
        return state.format_log([LogRow(*row) for row in self.executor.read(LOG_LINES_OF, the_run=run_id)])

    def succeed(self, run_id: str, line: str, *, output_key: str, result_zip_key: str, input_tokens: int,
                output_tokens: int, finished_at) -> bool:
        return self.executor.run(SUCCEED, the_run=run_id, moment=finished_at, log_line=line,
                                 output_key_value=output_key, result_zip_key_value=result_zip_key,
                                 input_token_count=input_tokens, output_token_count=output_tokens) is not None

    def heartbeat(self, run_id: str) -> bool:
        """Refresh heartbeat_at; False when the run is no longer active (someone else settled it)."""
        return self.executor.run(HEARTBEAT, the_run=run_id, moment=clock.now()) is not None

    def release(self) -> None:
        """Hold no database connection until the next step (a provider call can take minutes)."""
        self.executor.release()

    close = release


def recorder() -> Recorder:
    """The recorder for the current app's database."""
    return Recorder(ConnectionExecutor() if db.engine.dialect.name == "postgresql" else SessionExecutor())


class SessionExecutor:
    """A step's `sequence` in the ORM session's transaction, committed as `state` prescribes; a transition is
    reported (state.transitioned) when it commits. Works on every database (tests/runs/test_recorder.py runs it on PostgreSQL too)."""

    def run(self, step: Step, **params):
        """The step's answer row (() for a note), or None when its move found the run elsewhere."""
        session = db.session
        try:
            row = ()
            if step.sequence_change is not None:
                row = session.execute(step.sequence_change, params).first()
                if row is None:
                    session.rollback()
                    return None
                if step.counted:
                    state.transitioned(session, params["the_run"], *step.counted)
            for write in step.sequence_writes:
                session.execute(write, params)
            if step.progress:
                state.commit_progress()
            else:
                session.commit()
            return row
        except BaseException:
            session.rollback()
            raise

    def read(self, statement: Statement, **params) -> list:
        try:
            return db.session.execute(statement.statement, params).all()
        finally:
            db.session.rollback()  # the session gives its connection back

    def release(self) -> None:
        """The session gives its connection back at each commit."""


class ConnectionExecutor:
    """A step's `single` statement in autocommit on a pooled connection, held from step to step but given back
    while the provider works (`release`)."""

    def __init__(self):
        self.dialect = db.engine.dialect
        self.fairy = self.connection = None
        self._acquire()

    def _acquire(self) -> None:
        try:
            fairy = db.engine.raw_connection()
        except psycopg.Error as error:  # raw_connection() does not translate the driver's errors as the session does
            raise DBAPIError.instance(None, None, error, psycopg.Error) from error
        fairy.driver_connection.autocommit = True
        self.fairy, self.connection = fairy, fairy.driver_connection

    def _rows(self, statement: Statement, params: dict) -> list:
        if self.fairy is None:
            self._acquire()
        sql, literals = statement.compiled(self.dialect)
        try:
            with self.connection.cursor() as cursor:
                cursor.execute(sql, {**literals, **params})
                return cursor.fetchall() if cursor.description else []
        except psycopg.Error as error:
            if self.connection.broken:
                self.fairy.invalidate(error)
            # the same exceptions as the session's (OperationalError for a lost database, ...)
            raise DBAPIError.instance(sql, params, error, psycopg.Error) from error

    def run(self, step: Step, **params):
        """The step's answer row (() for a note), or None when its move found the run elsewhere."""
        rows = self._rows(step.single, params)
        if not step.answers:
            return ()
        if not rows:
            return None
        if step.counted:
            state.transitioned(None, params["the_run"], *step.counted)  # committed already
        return rows[0]

    def read(self, statement: Statement, **params) -> list:
        return self._rows(statement, params)

    def release(self) -> None:
        """Give the connection back to the pool; the next step takes one again."""
        fairy, connection, self.fairy, self.connection = self.fairy, self.connection, None, None
        if fairy is None:
            return
        try:
            if not connection.closed:
                connection.autocommit = False
        finally:
            fairy.close()


def compile_statements(dialect) -> None:
    """Compile every statement of the connection executor now (the worker, before it forks its work horses)."""
    for statement in STATEMENTS:
        statement.compiled(dialect)


def warm_session() -> None:
    """Run every step through the session for a run that does not exist: nothing matches, nothing is written, but
    SQLAlchemy has compiled the session's statements into its cache (the worker, before it forks; SQLite)."""
    nobody, warm = "run_" + "0" * 24, Recorder(SessionExecutor())
    warm.status(nobody)
    warm.claim(nobody, "warm-up")
    warm.start_remote(nobody, "warm-up")
    warm.succeed(nobody, "warm-up", output_key="", result_zip_key="", input_tokens=0, output_tokens=0,
                 finished_at=clock.now())
    warm.heartbeat(nobody)
    warm.log_text(nobody)


def warm_backend(connection, dialect) -> None:
    """Run every statement of the job once on a new connection, for a run that does not exist, and roll back:
    nothing is written, but the server backend has loaded the catalog entries of the job's tables and indexes
    and planned the log lines' foreign-key check, which a cold backend does during a run's first statements
    (1-3 ms each on the critical path). The worker calls this on the next work horse's connection while it
    waits for a job (seecodes.runs.horse_db)."""
    nobody = {"the_run": "run_" + "0" * 24, "moment": clock.now(), "log_line": "warm-up", "output_key_value": "",
              "result_zip_key_value": "", "input_token_count": 0, "output_token_count": 0}
    try:
        with connection.cursor() as cursor:
            for statement in (STATUS_OF, LOG_LINES_OF, CLAIM.single, START_REMOTE.single, SUCCEED.single,
                              HEARTBEAT.single, NOTE.single):
                sql, literals = statement.compiled(dialect)
                cursor.execute(sql, {**literals, **nobody})  # NOTE last: refused by the foreign key
    except psycopg.errors.ForeignKeyViolation:
        pass
    finally:
        connection.rollback()
