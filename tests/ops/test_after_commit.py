"""seecodes/after_commit.py: an action runs once its transaction commits, never at a savepoint's release (which
SQLAlchemy reports as a commit too) and never after a rollback; without a session it runs at once."""
import pytest
from sqlalchemy import text

from seecodes import after_commit, prometheus
from seecodes.extensions import db

pytestmark = pytest.mark.backends("sqlite", "postgresql")


def test_an_action_waits_for_the_outer_commit_not_a_savepoint(app):
    ran = []
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        after_commit.call(db.session, lambda: ran.append("action"))
        with db.session.begin_nested():  # e.g. credits.refund's savepoint
            db.session.execute(text("SELECT 1"))
        assert ran == []
        db.session.commit()
        assert ran == ["action"]
        db.session.commit()
        assert ran == ["action"]  # once


def test_a_rolled_back_transaction_drops_its_actions_even_after_a_savepoint(app):
    ran = []
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        after_commit.call(db.session, lambda: ran.append("action"))
        with db.session.begin_nested():
            db.session.execute(text("SELECT 1"))
        db.session.rollback()
        db.session.execute(text("SELECT 1"))
        db.session.commit()
    assert ran == []


def test_a_transition_rolled_back_after_a_refund_savepoint_is_not_counted(app):
    """The defect this module fixed: prometheus counted at the refund's savepoint, before the outer rollback."""
    counter = prometheus.RUN_TRANSITIONS.labels("queued", "failed")
    before = counter._value.get()
    with app.app_context():
        db.session.execute(text("SELECT 1"))
        prometheus.run_moved(db.session, "queued", "failed")
        with db.session.begin_nested():
            db.session.execute(text("SELECT 1"))
        db.session.rollback()
    assert counter._value.get() == before


def test_without_a_session_an_action_runs_at_once_and_a_failure_is_logged(caplog):
    ran = []
    after_commit.call(None, lambda: ran.append("now"))
    after_commit.call(None, lambda: 1 / 0)
    assert ran == ["now"] and "after-commit action failed" in caplog.text
