"""Retention at size: a big backlog is pruned in bounded DELETEs, each committed on its own, so no pass holds
the tables' locks for long beside the hot routes."""
import threading
from datetime import timedelta

from sqlalchemy import event, insert

from seecodes import clock, retention
from seecodes.extensions import db
from seecodes.installations import service as installations
from seecodes.request_keys.models import RequestKey


def _ten_spent_keys_in_batches_of_three(app, jira, monkeypatch):
    """Ten request keys spent a month ago, pruned 3 per batch; answers the app's engine."""
    monkeypatch.setattr(retention, "BATCH", 3)
    jira.bootstrap()
    spent = clock.now() - timedelta(days=30)
    with app.app_context():
        pk = installations.get_by_installation_id(jira.installation_id).id
        db.session.execute(insert(RequestKey), [
            {"key_hash": f"{n:064x}", "installation_pk": pk, "principal": "557058:old", "session_id": f"s{n}",
             "created_at": spent, "expires_at": spent, "consumed_at": spent} for n in range(10)])
        db.session.commit()
        return db.engine


def test_a_backlog_is_deleted_in_batches_each_committed(app, jira, monkeypatch):
    engine = _ten_spent_keys_in_batches_of_three(app, jira, monkeypatch)
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


def test_the_pass_rests_between_batches_as_long_as_each_took(app, jira, monkeypatch):
    """A prune of millions of rows beside the load: flat out, one connection deleting batch after batch made
    the Jira route's p99 up to 2.2x its p99 without a prune (bench/growth.py); resting after each full batch
    as long as it took, outside any transaction, bounds the prune's share of the database."""
    engine = _ten_spent_keys_in_batches_of_three(app, jira, monkeypatch)
    this_thread = threading.get_ident()
    steps = []

    class Stopwatch:
        """A clock that moves only while a batch's DELETE runs (0.2 s each) and while the pass sleeps."""
        now = 1000.0

        def monotonic(self):
            return self.now

        def sleep(self, seconds):
            steps.append(("rest", seconds))
            self.now += seconds

    stopwatch = Stopwatch()
    monkeypatch.setattr(retention, "time", stopwatch, raising=False)

    def on_executed(_conn, _cursor, statement, _params, context, _many):
        if threading.get_ident() == this_thread and statement.lstrip().upper().startswith("DELETE FROM REQUEST_KEYS"):
            stopwatch.now += 0.2
            steps.append(("delete", context.rowcount))

    def on_commit(_conn):
        if threading.get_ident() == this_thread:
            steps.append(("commit",))

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
    first = steps.index(("delete", 3))
    request_keys = steps[first:first + 11]
    assert [step[0] for step in request_keys] == ["delete", "commit", "rest"] * 3 + ["delete", "commit"], steps
    # Each rest comes after its batch's commit (no lock held) and lasts at least as long as the batch took;
    # the last, short batch ends the table's pass without one.
    assert all(seconds >= 0.2 for kind, *rest in request_keys if kind == "rest" for seconds in rest), steps
    assert [step[1] for step in request_keys if step[0] == "delete"] == [3, 3, 3, 1]
