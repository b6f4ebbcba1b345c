"""Run state changes as conditional UPDATEs, so concurrent actors (workers, reaper, starts) never both win."""
from sqlalchemy import insert, select, text, update

from .. import clock, prometheus, request_ids
from ..credits import service as credits
from ..extensions import db
from . import rules
from .models import ACTIVE_STATUSES, FAILED, QUEUED, Run, RunLogLine

MAX_ERROR_CHARS = 2000
# Core tables, not ORM entities: these statements run in freshly forked work horses, where the ORM's
# bulk-update machinery costs more than the round trip itself.
RUNS = Run.__table__
LOG_LINES = RunLogLine.__table__


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
        prometheus.run_moved(db.session, sources, target)
    return result.rowcount == 1


def fail(run_id: str, error: str, sources=ACTIVE_STATUSES, *conditions) -> bool:
    """Mark the run failed and refund its debit, once; False when another actor settled it first."""
    moment = clock.now()
    failed = move(run_id, sources, FAILED, *conditions, error=error[:MAX_ERROR_CHARS], finished_at=moment)
    if failed:
        refunded = credits.refund(run_id)
        log(run_id, f"failed: {error}" + ("; credits refunded" if refunded else ""))
    return failed


def log(run_id: str, *lines: str) -> None:
    """Stage log lines in the caller's transaction (they become readable when it commits)."""
    moment = clock.now()
    db.session.execute(insert(LOG_LINES), [{"run_id": run_id, "logged_at": moment, "line": line} for line in lines])


def heartbeat(run_id: str) -> bool:
    result = db.session.execute(
        update(RUNS).where(RUNS.c.id == run_id, RUNS.c.status.in_(ACTIVE_STATUSES)).values(heartbeat_at=clock.now())
    )
    return result.rowcount == 1


def commit_progress() -> None:
    """Commit a progress marker (in_process, processing_remote, a provider's log line) without waiting for the
    WAL flush on PostgreSQL (synchronous_commit off for this transaction only): each flush is milliseconds on
    a run's critical path. Visibility and order are unchanged; a crash of the database server may lose only
    the newest such markers (never a debit, a refund or a final state, which commit synchronously and flush
    every marker before them), and the reaper repairs a run left behind by a lost marker."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SET LOCAL synchronous_commit = off"))
    db.session.commit()


def log_text(run_id: str) -> str:
    """The run's log as text, one `<ISO-8601 UTC with microseconds> <line>` per line (GET …/logs, result.zip)."""
    rows = db.session.execute(
        select(LOG_LINES.c.logged_at, LOG_LINES.c.line).where(LOG_LINES.c.run_id == run_id).order_by(LOG_LINES.c.id)
    ).all()
    return "".join(f"{clock.iso(row.logged_at, micro=True)} {row.line}\n" for row in rows)
