"""Progress markers of a run commit without waiting for the WAL flush (PostgreSQL), and only they do."""
from sqlalchemy import event, text

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


def test_the_asynchronous_commit_ends_with_its_transaction(app, backend):
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        state.commit_progress()
        if backend == "postgresql":
            assert db.session.execute(text("SHOW synchronous_commit")).scalar_one() == "on"
        db.session.rollback()
