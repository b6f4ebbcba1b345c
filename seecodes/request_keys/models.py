"""A request key row; only its SHA-256 digest is stored."""
from sqlalchemy import text

from ..extensions import db
from ..models_base import BigIntPK, utcnow


class RequestKey(db.Model):
    __tablename__ = "request_keys"
    __table_args__ = (
        # At most one live (unconsumed, unsuperseded) key per chain.
        db.Index(
            "uq_request_keys_live_chain",
            "installation_pk",
            "principal",
            "session_id",
            unique=True,
            postgresql_where=text("consumed_at IS NULL AND superseded_at IS NULL"),
            sqlite_where=text("consumed_at IS NULL AND superseded_at IS NULL"),
        ),
    )

    id = db.Column(BigIntPK, primary_key=True, autoincrement=True)
    key_hash = db.Column(db.String(64), nullable=False, unique=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    principal = db.Column(db.String(255), nullable=False, default="")  # "" when the token has none
    session_id = db.Column(db.String(128), nullable=False, default="")
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    expires_at = db.Column(db.DateTime, nullable=False)
    consumed_at = db.Column(db.DateTime, nullable=True)
    superseded_at = db.Column(db.DateTime, nullable=True)
    # Revoked by an uninstall or an operator: set together with superseded_at (so the key is no longer live) to
    # tell the refusal apart from an ordinary supersession.
    revoked_at = db.Column(db.DateTime, nullable=True)
