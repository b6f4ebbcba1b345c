"""Progress markers of a run commit without waiting for the WAL flush (PostgreSQL), and only they do."""
import pytest
from sqlalchemy import event, select, text

from seecodes.extensions import db
from seecodes.runs import state


def _statements(app, action):
    seen = []
    with app.app_context():
        engine = db.engine

        def on_statement(_conn, _cursor, statement, *_args):
            seen.append(statement)

        event.listen(engine, "before_cursor_execute", on_statement)
        try:
            action()
        finally:
            event.remove(engine, "before_cursor_execute", on_statement)
    return seen


def test_a_progress_marker_commits_asynchronously_on_postgresql(app, backend):
    def mark():
        db.session.execute(text("SELECT 1"))
        state.commit_progress()

    seen = _statements(app, mark)
    expected = ["SET LOCAL synchronous_commit = off"] if backend == "postgresql" else []
    assert [s for s in seen if "synchronous_commit" in s] == expected


def test_a_progress_marker_is_committed(app, backend):
    """Visible to another connection once commit_progress returns, on every backend."""
    from seecodes.ratelimit import RateLimitHit

    hits = RateLimitHit.__table__
    with app.app_context():
        db.session.execute(hits.insert().values(subject="progress-marker", expires_at=1.0))
        state.commit_progress()
        with db.engine.connect() as other:
            assert other.execute(select(hits.c.subject).where(hits.c.subject == "progress-marker")).all() == [
                ("progress-marker",)]


@pytest.mark.backends("postgresql")
def test_the_asynchronous_commit_ends_with_its_transaction(app, backend):
    """SET LOCAL, not SET: the next transaction on the same connection commits synchronously again (a debit, a
    refund or a final state must wait for the flush)."""
    with app.app_context():
        connection = db.session.connection().connection.dbapi_connection
        db.session.execute(text("SELECT 1"))
        state.commit_progress()
        assert db.session.connection().connection.dbapi_connection is connection  # the same connection
        assert db.session.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
        db.session.rollback()
