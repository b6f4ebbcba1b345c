"""A launch code row; only its SHA-256 digest is stored."""
from ..extensions import db
from ..models_base import BigIntPK, utcnow


class LaunchCode(db.Model):
    __tablename__ = "launch_codes"

    id = db.Column(BigIntPK, primary_key=True, autoincrement=True)
    code_hash = db.Column(db.String(64), nullable=False, unique=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False, index=True)
    project_id = db.Column(db.String(255), nullable=False)
    task_id = db.Column(db.String(255), nullable=False)
    user_account_id = db.Column(db.String(255), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False)
    consumed_at = db.Column(db.DateTime, nullable=True)
    # Revoked by an uninstall or an operator (`flask credentials revoke`) before its use.
    revoked_at = db.Column(db.DateTime, nullable=True)
    # The permit minted by the successful exchange; revoked if the code is replayed.
    permit_id = db.Column(db.String(64), nullable=True)
