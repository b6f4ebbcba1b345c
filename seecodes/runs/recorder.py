"""How the run job records its progress: the claim, processing_remote, the provider's notes and success.

Two recorders with one meaning (tests/runs run the job on both):

- `SessionRecorder`, through the ORM session like every other writer: SQLite (the embedded default).
- `StatementRecorder`, on PostgreSQL: each step is one statement in autocommit on a pooled raw connection
  (in a work horse, the connection the worker opened before the fork, seecodes.runs.horse_db), held from
  step to step and given back while the provider works. A status change, its log line and, at success, the
  token counts on the usage row travel together in data-modifying CTEs, so a run's own database work on its
  critical path is four round trips instead of sixteen (BEGIN, each statement, SET LOCAL, COMMIT), and the
  statements are compiled once per worker process, before the fork, so that a work horse neither builds
  SQLAlchemy statements nor touches the ORM's machinery (every page a fresh fork writes to is copied first).

Both keep the commit rules of `state`: progress markers (in_process, processing_remote, a provider's note)
commit without waiting for the WAL flush, success commits synchronously and flushes every marker before it.
"""
from collections import namedtuple

import psycopg
from sqlalchemy import Integer, String, bindparam, func, insert, select, true, update
from sqlalchemy.exc import DBAPIError

from .. import clock
from ..credits import service as credits
from ..credits.models import UsageRow
from ..extensions import db
from . import state
from .state import logged_cte, moved_statement
from .models import IN_PROCESS, PROCESSING_REMOTE, QUEUED, SUCCEEDED

RUNS, LOG_LINES, MODELS, USAGE = state.RUNS, state.LOG_LINES, state.MODELS, UsageRow.__table__
# What the claim answers (the columns of state.claim's row); a class made once, not per result by psycopg.
ClaimedRun = namedtuple("ClaimedRun", "model_id files user_prompt estimated_input_tokens provider provider_config "
                                      "input_versions")
LogRow = namedtuple("LogRow", "logged_at line")
THE_RUN, MOMENT, LOG_LINE = state.THE_RUN, state.MOMENT, state.LOG_LINE


def recorder():
    """The recorder for the current app's database."""
    return StatementRecorder() if db.engine.dialect.name == "postgresql" else SessionRecorder()


class SessionRecorder:
    """Each step in the ORM session, committed as `state` prescribes."""

    def claim(self, run_id: str, worker: str):
        run = state.claim(run_id, worker)
        if run is None:
            db.session.rollback()
            return None
        state.commit_progress()
        return run

    def status(self, run_id: str) -> str | None:
        status = db.session.execute(select(RUNS.c.status).where(RUNS.c.id == run_id)).scalar_one_or_none()
        db.session.rollback()
        return status

    def start_remote(self, run_id: str, line: str) -> bool:
        if not state.move(run_id, IN_PROCESS, PROCESSING_REMOTE):
            return False
        state.log(run_id, line)
        state.commit_progress()
        return True

    def note(self, run_id: str, line: str) -> None:
        state.log(run_id, line)
        state.commit_progress()

    def log_text(self, run_id: str) -> str:
        return state.log_text(run_id)

    def succeed(self, run_id: str, line: str, **values) -> bool:
        if not state.move(run_id, PROCESSING_REMOTE, SUCCEEDED, **values):
            return False
        credits.record_tokens(run_id, values["input_tokens"], values["output_tokens"])
        state.log(run_id, line)
        db.session.commit()
        return True

    def release(self) -> None:
        """The session gives its connection back at each commit."""

    close = release


class Statement:
    """A SQLAlchemy statement compiled once per process for the driver, with the values of its literal binds."""

    def __init__(self, build):
        self.build, self.sql, self.literals = build, None, None

    def compiled(self, dialect) -> tuple[str, dict]:
        if self.sql is None:
            compiled = self.build().compile(dialect=dialect)
            self.literals = {name: bind.value for bind, name in compiled.bind_names.items() if bind.value is not None}
            self.sql = compiled.string
        return self.sql, self.literals


def _async_commit():
    """A one-row CTE whose evaluation makes its statement's transaction commit without waiting for the WAL
    flush (set_config(..., true) is SET LOCAL): how a progress marker commits in autocommit."""
    return select(func.set_config("synchronous_commit", "off", True).label("setting")).cte("async_commit")


def _claim():
    claimed = moved_statement(QUEUED, IN_PROCESS, started_at=MOMENT, heartbeat_at=MOMENT,
                              attempts=RUNS.c.attempts + 1) \
        .returning(RUNS.c.id, RUNS.c.model_id, RUNS.c.files, RUNS.c.user_prompt, RUNS.c.estimated_input_tokens,
                   RUNS.c.input_versions) \
        .cte("claimed")
    marker = _async_commit()
    return (select(claimed.c.model_id, claimed.c.files, claimed.c.user_prompt, claimed.c.estimated_input_tokens,
                   MODELS.c.provider, MODELS.c.provider_config, claimed.c.input_versions)
            .select_from(claimed.join(marker, true()).outerjoin(MODELS, MODELS.c.id == claimed.c.model_id))
            .add_cte(logged_cte(claimed)))


def _start_remote():
    moved = moved_statement(IN_PROCESS, PROCESSING_REMOTE).returning(RUNS.c.id).cte("moved")
    marker = _async_commit()
    return select(moved.c.id).select_from(moved.join(marker, true())).add_cte(logged_cte(moved))


def _note():
    marker = _async_commit()
    return insert(LOG_LINES).from_select(
        ["run_id", "logged_at", "line"], select(THE_RUN, MOMENT, LOG_LINE).select_from(marker))


def _succeed():
    input_tokens, output_tokens = (bindparam("input_token_count", type_=Integer()),
                                   bindparam("output_token_count", type_=Integer()))
    moved = moved_statement(PROCESSING_REMOTE, SUCCEEDED, output_key=bindparam("output_key_value", type_=String()),
                            result_zip_key=bindparam("result_zip_key_value", type_=String()),
                            input_tokens=input_tokens, output_tokens=output_tokens, finished_at=MOMENT) \
        .returning(RUNS.c.id).cte("moved")
    tokens = (update(USAGE).where(USAGE.c.run_id.in_(select(moved.c.id)), USAGE.c.type == "task_run")
              .values(input_tokens=input_tokens, output_tokens=output_tokens).cte("tokens"))
    return select(moved.c.id).add_cte(tokens).add_cte(logged_cte(moved))


def _log_lines():
    return select(LOG_LINES.c.logged_at, LOG_LINES.c.line).where(LOG_LINES.c.run_id == THE_RUN).order_by(LOG_LINES.c.id)


def _status():
    return select(RUNS.c.status).where(RUNS.c.id == THE_RUN)


CLAIM, START_REMOTE, NOTE, SUCCEED = Statement(_claim), Statement(_start_remote), Statement(_note), Statement(_succeed)
LOG_LINES_OF, STATUS_OF = Statement(_log_lines), Statement(_status)
STATEMENTS = (CLAIM, START_REMOTE, NOTE, SUCCEED, LOG_LINES_OF, STATUS_OF)


def compile_statements(dialect) -> None:
    """Compile every statement now (the worker, before it forks its work horses)."""
    for statement in STATEMENTS:
        statement.compiled(dialect)


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
            for statement in (STATUS_OF, LOG_LINES_OF, CLAIM, START_REMOTE, SUCCEED, NOTE):
                sql, literals = statement.compiled(dialect)
                cursor.execute(sql, {**literals, **nobody})  # NOTE last: refused by the foreign key
    except psycopg.errors.ForeignKeyViolation:
        pass
    finally:
        connection.rollback()


class StatementRecorder:
    """Each step one statement in autocommit on a pooled connection, held from step to step but given back
    while the provider works (`release`: a provider call can take minutes)."""

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

    def _rows(self, statement: Statement, **params) -> list:
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

    def claim(self, run_id: str, worker: str):
        rows = self._rows(CLAIM, the_run=run_id, moment=clock.now(), log_line=f"in_process: picked up by {worker}")
        if not rows:
            return None
        state.transitioned(None, run_id, QUEUED, IN_PROCESS)
        return ClaimedRun(*rows[0])

    def status(self, run_id: str) -> str | None:
        rows = self._rows(STATUS_OF, the_run=run_id)
        return rows[0][0] if rows else None

    def start_remote(self, run_id: str, line: str) -> bool:
        if not self._rows(START_REMOTE, the_run=run_id, moment=clock.now(), log_line=line):
            return False
        state.transitioned(None, run_id, IN_PROCESS, PROCESSING_REMOTE)
        return True

    def note(self, run_id: str, line: str) -> None:
        self._rows(NOTE, the_run=run_id, moment=clock.now(), log_line=line)

    def log_text(self, run_id: str) -> str:
        return state.format_log([LogRow(*row) for row in self._rows(LOG_LINES_OF, the_run=run_id)])

    def succeed(self, run_id: str, line: str, *, output_key: str, result_zip_key: str, input_tokens: int,
                output_tokens: int, finished_at) -> bool:
        if not self._rows(SUCCEED, the_run=run_id, moment=finished_at, log_line=line, output_key_value=output_key,
                          result_zip_key_value=result_zip_key, input_token_count=input_tokens,
                          output_token_count=output_tokens):
            return False
        state.transitioned(None, run_id, PROCESSING_REMOTE, SUCCEEDED)
        return True

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

    close = release
