"""Work that may only happen once the database change it reports has committed: counting a transition or a
debit (seecodes.prometheus), telling pollers' tags in Redis that a run changed (seecodes.runs.poll_tags).

`call(session, action)` runs `action()` after the session's transaction commits and drops it when it rolls
back; without a session (a statement in autocommit, committed already) it runs at once. An action's failure is
logged, never raised: the commit has happened, and the caller has nothing left to undo.
"""
import logging

from sqlalchemy import event
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

PENDING_KEY = "seecodes.after_commit"


def call(session, action) -> None:
    if session is None:
        _run(action)
        return
    session.info.setdefault(PENDING_KEY, []).append(action)


def _run(action) -> None:
    try:
        action()
    except Exception:  # noqa: BLE001 - the commit stands; the action says what it lost itself
        log.exception("an after-commit action failed")


@event.listens_for(Session, "after_commit")
def _committed(session):
    if session.in_nested_transaction():
        return  # a savepoint released (SQLAlchemy reports it as a commit): the transaction still goes on
    for action in session.info.pop(PENDING_KEY, ()):
        _run(action)


@event.listens_for(Session, "after_rollback")
def _rolled_back(session):
    session.info.pop(PENDING_KEY, None)
