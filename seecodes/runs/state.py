"""Run state changes as conditional UPDATEs, so concurrent actors (workers, reaper, starts) never both win."""
from sqlalchemy import DateTime, Integer, String, Text, bindparam, func, insert, literal, select, text, update

from .. import clock, poll_tags, prometheus, request_ids
from ..catalog.models import CatalogModel
from ..credits import service as credits
from ..credits.models import UsageRow
from ..installations.models import Installation
from ..extensions import db
from . import rules
from .models import (ACTIVE_STATUSES, CANCELLABLE_STATUSES, CANCELLED, FAILED, INITIALIZED, QUEUED, Run,
                     RunLogLine)

MAX_ERROR_CHARS = 2000
# Core tables, not ORM entities: these statements run in freshly forked work horses, where the ORM's
# bulk-update machinery costs more than the round trip itself.
RUNS = Run.__table__
LOG_LINES = RunLogLine.__table__
MODELS = CatalogModel.__table__
INSTALLATIONS, USAGE = Installation.__table__, UsageRow.__table__


def move(run_id: str, sources: tuple[str, ...] | str, target: str, *conditions, **values) -> bool:
    """sources -> target in the caller's transaction; False when the run was not in a source status.
    Conditions and values use Core columns (state.RUNS.c.…)."""
    sources = (sources,) if isinstance(sources, str) else tuple(sources)
    assert all(rules.can_move(source, target) for source in sources), (sources, target)
    moment = clock.now()
    if target == QUEUED and request_ids.current():
        values.setdefault("request_id", request_ids.current())  # joins the worker's log lines to the request
    result = db.session.execute(
        update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status.in_(sources), *conditions)
        .values(status=target, updated_at=moment, **values)
    )
    if result.rowcount == 1:
        transitioned(db.session, run_id, sources, target)
    return result.rowcount == 1


def transitioned(session, run_id: str, sources, target: str) -> None:
    """Every transition reports itself here once its statement moved the row: counted, and pollers' tags of the
    run invalidated (seecodes.runs.poll_tags), both when `session` commits (at once without a session: the
    recorder's statements in autocommit)."""
    prometheus.run_moved(session, sources, target)
    poll_tags.runs_changed(session, run_id)


# --- single statements (PostgreSQL: data-modifying CTEs) ----------------------------------------------------
# Typed binds (a bind in a SELECT list has no column to take its type from); none is named like a column, since
# in an UPDATE SQLAlchemy would take a same-named bind for a SET value.
THE_RUN, MOMENT, LOG_LINE = (bindparam("the_run", type_=String()), bindparam("moment", type_=DateTime()),
                             bindparam("log_line", type_=Text()))


def moved_statement(source: str, target: str, **values):
    """UPDATE the run THE_RUN from `source` to `target` at MOMENT (for a CTE: add .returning(...))."""
    assert rules.can_move(source, target), (source, target)
    return (update(RUNS).where(RUNS.c.id == THE_RUN, RUNS.c.status == source)
            .values(status=target, updated_at=MOMENT, **values))


def logged_cte(moved, selectable=None):
    """INSERT the log line LOG_LINE at MOMENT for the row of the `moved` CTE (none when nothing moved), read from
    `selectable` (default: `moved` itself)."""
    return insert(LOG_LINES).from_select(
        ["run_id", "logged_at", "line"], select(moved.c.id, MOMENT, LOG_LINE).select_from(
            moved if selectable is None else selectable)
    ).cte("logged")


# --- starting a run: the one rule, both dialects side by side -------------------------------------------------
# The start's own binds (typed, named unlike any column, as above).
PRICE, INSTALLATION = bindparam("price", type_=Integer()), bindparam("installation", type_=Integer())
# initialized -> queued with what the start estimated, answering what the usage row copies from the run.
_QUEUED = (moved_statement(INITIALIZED, QUEUED, queued_at=MOMENT, heartbeat_at=MOMENT, estimated_credits=PRICE,
                           user_prompt=bindparam("prompt", type_=Text()),
                           estimated_input_tokens=bindparam("tokens", type_=Integer()),
                           input_versions=bindparam("versions", type_=RUNS.c.input_versions.type),
                           request_id=bindparam("request", type_=String()))
           .returning(RUNS.c.id, RUNS.c.installation_pk, RUNS.c.project_id, RUNS.c.task_id, RUNS.c.user_account_id))
_USAGE_COLUMNS = ["installation_pk", "type", "run_id", "project_id", "task_id", "user_account_id", "credits",
                  "created_at"]
# The installation's credits as the statement found them (before the debit).
_AVAILABLE = select(INSTALLATIONS.c.credits).where(INSTALLATIONS.c.id == INSTALLATION)


def _debit(*which):
    """UPDATE the installation `which` selects, only if its credits cover PRICE."""
    return (update(INSTALLATIONS).where(*which, INSTALLATIONS.c.credits >= PRICE)
            .values(credits=INSTALLATIONS.c.credits - PRICE, updated_at=MOMENT))


def _queue_debited_statement():
    """PostgreSQL: the start as one data-modifying CTE, one round trip (the run benchmark's start rests on it):
    the debit only for a run that moved, the usage row and the log line only with the debit."""
    moved = _QUEUED.cte("moved")
    debited = _debit(INSTALLATIONS.c.id.in_(select(moved.c.installation_pk))).returning(INSTALLATIONS.c.id) \
        .cte("debited")
    charged = moved.join(debited, debited.c.id == moved.c.installation_pk)
    usage = insert(USAGE).from_select(_USAGE_COLUMNS, select(
        debited.c.id, literal("task_run"), moved.c.id, moved.c.project_id, moved.c.task_id,
        moved.c.user_account_id, PRICE, MOMENT).select_from(charged)).cte("usage")
    return select(
        select(func.count()).select_from(moved).scalar_subquery().label("moved"),
        select(func.count()).select_from(debited).scalar_subquery().label("debited"),
        _AVAILABLE.scalar_subquery().label("available"),
    ).add_cte(usage).add_cte(logged_cte(moved, charged))


_QUEUE_DEBITED = _queue_debited_statement()
# SQLite (no data-modifying CTEs): the same parts in sequence; its one writer at a time keeps them together.
_DEBITED = _debit(INSTALLATIONS.c.id == INSTALLATION).returning((INSTALLATIONS.c.credits + PRICE).label("available"))
_USAGE_ROW = insert(USAGE).values(
    installation_pk=INSTALLATION, type="task_run", run_id=THE_RUN, project_id=bindparam("run_project"),
    task_id=bindparam("run_task"), user_account_id=bindparam("run_user"), credits=PRICE, created_at=MOMENT)
_LOG_ROW = insert(LOG_LINES).values(run_id=THE_RUN, logged_at=MOMENT, line=LOG_LINE)


def queue_debited(run_id: str, installation_pk: int, price: int, line: str, *, user_prompt: str | None,
                  estimated_input_tokens: int, input_versions: dict | None) -> tuple[bool, bool, int]:
    """The start of a run, in the caller's transaction: initialized -> queued with the start's estimate, the debit
    of `price` credits with its task_run usage row, and the log line `line`, all at one moment, each part only
    with the others (the debit only for a run that moved; the usage row and the log line only with the debit).
    Answers (moved, debited, available: the credits before the debit); the caller rolls back unless both are
    true, and the transition and the debit are counted only then (after the commit).

    The same rule on both databases, written side by side: one statement on PostgreSQL, on SQLite the shortest
    sequence of the same parts (four statements for a start that succeeds)."""
    binds = {"the_run": run_id, "installation": installation_pk, "price": price, "moment": clock.now(),
             "prompt": user_prompt, "tokens": estimated_input_tokens, "versions": input_versions,
             "request": request_ids.current(), "log_line": line}
    if db.session.get_bind().dialect.name == "postgresql":
        row = db.session.execute(_QUEUE_DEBITED, binds).one()
        moved, debited, available = row.moved == 1, row.debited == 1, row.available
    else:
        moved, debited, available = _queue_debited_in_sequence(binds)
    if moved and debited:
        transitioned(db.session, run_id, INITIALIZED, QUEUED)
        prometheus.credits_debited(db.session, price)
    return moved, debited, available


def _queue_debited_in_sequence(binds: dict) -> tuple[bool, bool, int]:
    """SQLite's start (see queue_debited): the move, then the debit, then its usage row and the log line."""
    run = db.session.execute(_QUEUED, binds).first()
    if run is not None:  # from here on, as in the CTE, the run's own installation and binding
        binds = {**binds, "installation": run.installation_pk, "run_project": run.project_id,
                 "run_task": run.task_id, "run_user": run.user_account_id}
    debit = db.session.execute(_DEBITED, binds).first() if run is not None else None
    if debit is None:
        return run is not None, False, db.session.execute(_AVAILABLE, binds).scalar()
    db.session.execute(_USAGE_ROW, binds)
    db.session.execute(_LOG_ROW, binds)
    return True, True, debit.available


def fail(run_id: str, error: str, sources=ACTIVE_STATUSES, *conditions) -> bool:
    """Mark the run failed and refund its debit, once; False when another actor settled it first."""
    return _settle_refunded(run_id, sources, FAILED, f"failed: {error}", *conditions,
                            error=error[:MAX_ERROR_CHARS])


def cancel(run_id: str) -> bool:
    """The user's cancel: any status before a final one -> cancelled, its whole debit refunded (the output is never
    delivered), once; False when the run had already settled (succeeded, failed or cancelled by someone else)."""
    return _settle_refunded(run_id, CANCELLABLE_STATUSES, CANCELLED, "cancelled by the user")


def _settle_refunded(run_id: str, sources, target: str, line: str, *conditions, **values) -> bool:
    """The one way a run ends without its output: the conditional move (so exactly one of the worker, the reaper
    and a cancel settles it), the refund of its debit and the log line, in the caller's transaction."""
    settled = move(run_id, sources, target, *conditions, finished_at=clock.now(), **values)
    if settled:
        refunded = credits.refund(run_id)
        log(run_id, line + ("; credits refunded" if refunded else ""))
    return settled


def log(run_id: str, *lines: str) -> None:
    """Stage log lines in the caller's transaction (they become readable when it commits)."""
    moment = clock.now()
    db.session.execute(insert(LOG_LINES), [{"run_id": run_id, "logged_at": moment, "line": line} for line in lines])


def commit_progress() -> None:
    """Commit a progress marker (in_process, processing_remote, a provider's log line) without waiting for the
    WAL flush on PostgreSQL (synchronous_commit off for this transaction only): each flush is milliseconds on
    a run's critical path. Visibility and order are unchanged; a crash of the database server may lose only
    the newest such markers (never a debit, a refund or a final state, which commit synchronously and flush
    every marker before them), and the reaper repairs a run left behind by a lost marker."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit = off"))
    db.session.commit()


def log_text(run_id: str, connection=None) -> str:
    """The run's log as text, one `<ISO-8601 UTC with microseconds> <line>` per line (GET …/logs, result.zip);
    read through `connection` when given (a read-only route's), else the session."""
    return format_log((connection if connection is not None else db.session).execute(
        select(LOG_LINES.c.logged_at, LOG_LINES.c.line).where(LOG_LINES.c.run_id == run_id).order_by(LOG_LINES.c.id)
    ).all())


def format_log(rows) -> str:
    """Log rows (logged_at, line) as the log's text."""
    return "".join(f"{clock.iso(row.logged_at, micro=True)} {row.line}\n" for row in rows)
