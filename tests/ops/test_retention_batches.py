"""Retention at size: a big backlog is pruned in bounded DELETEs, each committed on its own, so no pass holds
the tables' locks for long beside the hot routes."""
import threading
from datetime import timedelta

from sqlalchemy import event, insert

from seecodes import clock, retention
from seecodes.extensions import db
from seecodes.installations import service as installations
from seecodes.request_keys.models import RequestKey


def test_a_backlog_is_deleted_in_batches_each_committed(app, jira, monkeypatch):
    monkeypatch.setattr(retention, "BATCH", 3)
    jira.bootstrap()
    spent = clock.now() - timedelta(days=30)
    with app.app_context():
        pk = installations.get_by_installation_id(jira.installation_id).id
        db.session.execute(insert(RequestKey), [
            {"key_hash": f"{n:064x}", "installation_pk": pk, "principal": "557058:old", "session_id": f"s{n}",
             "created_at": spent, "expires_at": spent, "consumed_at": spent} for n in range(10)])
        db.session.commit()
        engine = db.engine
    this_thread = threading.get_ident()
    deletes, commits = [], []

    def on_executed(_conn, _cursor, statement, _params, context, _many):
        if threading.get_ident() == this_thread and statement.lstrip().upper().startswith("DELETE FROM REQUEST_KEYS"):
            deletes.append(context.rowcount)

    def on_commit(_conn):
        if threading.get_ident() == this_thread:
            commits.append(len(deletes))

    event.listen(engine, "after_cursor_execute", on_executed)
    event.listen(engine, "commit", on_commit)
    try:
        with app.app_context():
            pruned = retention.prune()
            db.session.remove()
    finally:
        event.remove(engine, "after_cursor_execute", on_executed)
        event.remove(engine, "commit", on_commit)
    assert pruned.rows["request_keys"] == 10
    assert deletes == [3, 3, 3, 1]
    # Each batch is its own transaction: a commit follows every DELETE before the next one runs.
    assert all(count in commits for count in range(1, len(deletes) + 1)), commits
