"""One context document per (installation, project, task)."""
from ..extensions import db
from ..models_base import JSONType, utcnow


class TaskContext(db.Model):
    __tablename__ = "task_contexts"
    __table_args__ = (db.UniqueConstraint("installation_pk", "project_id", "task_id", name="uq_task_contexts_task"),)

    id = db.Column(db.Integer, primary_key=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    project_id = db.Column(db.String(255), nullable=False)
    task_id = db.Column(db.String(255), nullable=False)
    context = db.Column(JSONType, nullable=True)
    initial_tai = db.Column(JSONType, nullable=True)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
