"""One progress document per (installation, project, task)."""
from ..extensions import db
from ..models_base import JSONType, utcnow


class TaskProgress(db.Model):
    __tablename__ = "task_progress"
    __table_args__ = (db.UniqueConstraint("installation_pk", "project_id", "task_id", name="uq_task_progress_task"),)

    id = db.Column(db.Integer, primary_key=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    project_id = db.Column(db.String(255), nullable=False)
    task_id = db.Column(db.String(255), nullable=False)
    # The validated document (ready, left, progress, confidence, risks, logs) as the client sent it.
    document = db.Column(JSONType, nullable=False)
    updated_by = db.Column(db.String(255), nullable=True)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow)
