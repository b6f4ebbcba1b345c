"""Refunds (once under concurrency), usage, the 402 of a debit (taken by the start: runs.state.queue_debited)."""
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import prometheus
from ..errors import PaymentRequired
from ..extensions import db
from ..installations.models import Installation
from .models import UsageRow


def insufficient(credits: int, available: int) -> PaymentRequired:
    """The 402 of a debit that the installation's credits do not cover."""
    return PaymentRequired(f"This run needs {credits} credits; {available} are available.",
                           requiredCredits=credits, availableCredits=available)


def refund(run_id: str) -> bool:
    """Give back what a run was debited, once; a no-op when nothing was debited or it was refunded already."""
    charge = db.session.execute(
        select(UsageRow).where(UsageRow.run_id == run_id, UsageRow.type == "task_run")
    ).scalar_one_or_none()
    if charge is None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                UsageRow(
                    installation_pk=charge.installation_pk,
                    type="refund",
                    run_id=run_id,
                    project_id=charge.project_id,
                    task_id=charge.task_id,
                    user_account_id=charge.user_account_id,
                    credits=charge.credits,
                )
            )
            db.session.flush()
    except IntegrityError:
        return False
    db.session.execute(
        update(Installation)
        .where(Installation.id == charge.installation_pk)
        .values(credits=Installation.credits + charge.credits)
    )
    prometheus.credits_refunded(db.session, charge.credits)
    return True


def refunded(run_id: str) -> int:
    """Credits given back for the run (its refund row; 0 when none)."""
    return db.session.execute(
        select(UsageRow.credits).where(UsageRow.run_id == run_id, UsageRow.type == "refund")
    ).scalar_one_or_none() or 0


def record_tokens_statement(run_ids, input_tokens, output_tokens):
    """The one statement that puts a provider's actual token counts on the debit row of the runs in `run_ids` (a
    SELECT of run ids); the caller runs it in the transaction or the statement that marks the run succeeded
    (seecodes.runs.recorder: one data-modifying CTE on PostgreSQL, the session's transaction on SQLite)."""
    usage = UsageRow.__table__  # Core, not the ORM's bulk update: a work horse runs it
    return (update(usage).where(usage.c.run_id.in_(run_ids), usage.c.type == "task_run")
            .values(input_tokens=input_tokens, output_tokens=output_tokens))


def usage_page(installation_pk: int, limit: int, before_id: int | None = None) -> list[UsageRow]:
    query = select(UsageRow).where(UsageRow.installation_pk == installation_pk)
    if before_id is not None:
        query = query.where(UsageRow.id < before_id)
    return list(db.session.execute(query.order_by(UsageRow.id.desc()).limit(limit)).scalars())
