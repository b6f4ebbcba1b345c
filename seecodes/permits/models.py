"""The permit row: issued permits by id, so that one can be revoked before it expires."""
from ..extensions import db
from ..models_base import utcnow


class Permit(db.Model):
    __tablename__ = "permits"

    id = db.Column(db.String(64), primary_key=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False, index=True)
    project_id = db.Column(db.String(255), nullable=False)
    task_id = db.Column(db.String(255), nullable=False)
    user_account_id = db.Column(db.String(255), nullable=True)
    source = db.Column(db.String(32), nullable=False)  # launch_code | direct
    issued_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False)
    revoked_at = db.Column(db.DateTime, nullable=True)
