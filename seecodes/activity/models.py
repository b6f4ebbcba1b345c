"""Activity snapshots: one short window of IDE activity for one task and user."""
from ..extensions import db
from ..models_base import BigIntPK, JSONType, utcnow


class ActivitySnapshot(db.Model):
    __tablename__ = "activity_snapshots"
    __table_args__ = (
        # The dedupe key; user_account_id is '' (never NULL) for permits without a user, because NULLs
        # never collide in a unique constraint on PostgreSQL or SQLite.
        db.UniqueConstraint("installation_pk", "project_id", "task_id", "user_account_id", "window_started_at",
                            "window_ended_at", name="uq_activity_snapshots_window"),
        # The team-competition board scans an installation (optionally one project) by time.
        db.Index("ix_activity_snapshots_installation_ended", "installation_pk", "window_ended_at"),
        db.Index("ix_activity_snapshots_project_ended", "installation_pk", "project_id", "window_ended_at"),
        # The board's run fallback: does this run's task have a snapshot in range? (migration 0011)
        db.Index("ix_activity_snapshots_task_ended", "installation_pk", "project_id", "task_id", "window_ended_at"),
    )

    id = db.Column(BigIntPK, primary_key=True, autoincrement=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    project_id = db.Column(db.String(255), nullable=False)
    task_id = db.Column(db.String(255), nullable=False)
    user_account_id = db.Column(db.String(255), nullable=False, default="")
    window_started_at = db.Column(db.DateTime, nullable=False)
    window_ended_at = db.Column(db.DateTime, nullable=False)
    task_started_at = db.Column(db.DateTime, nullable=True)
    task_age_minutes = db.Column(db.Integer, nullable=True)
    human_active_ms = db.Column(db.BigInteger, nullable=False)
    loc_added = db.Column(db.Integer, nullable=False)
    loc_removed = db.Column(db.Integer, nullable=False)
    loc_total = db.Column(db.Integer, nullable=False)
    changed_files = db.Column(JSONType, nullable=False)
    changed_files_count = db.Column(db.Integer, nullable=False)
    architecture_change = db.Column(db.Boolean, nullable=False)
    logic_change = db.Column(db.Boolean, nullable=False)
    specification_ui_change = db.Column(db.Boolean, nullable=False)
    effort_units = db.Column(db.Integer, nullable=False)
    formula_version = db.Column(db.String(16), nullable=False)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
