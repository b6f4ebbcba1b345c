"""The first successful answer to a write sent with an Idempotency-Key, kept for a day."""
from ..extensions import db


class IdempotentRequest(db.Model):
    __tablename__ = "idempotent_requests"
    __table_args__ = (
        db.UniqueConstraint("installation_pk", "key", name="uq_idempotent_requests_installation_key"),
        db.Index("ix_idempotent_requests_expires_at", "expires_at"),
    )

    id = db.Column(db.Integer, primary_key=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id", ondelete="CASCADE"), nullable=False)
    key = db.Column(db.String(255), nullable=False)
    # sha256 of the method, the path, the permit's project/task and the canonical JSON body.
    fingerprint = db.Column(db.String(64), nullable=False)
    status_code = db.Column(db.Integer, nullable=True)  # NULL while the first request is still being answered
    body = db.Column(db.Text, nullable=True)
    content_type = db.Column(db.String(128), nullable=True)
    created_at = db.Column(db.DateTime, nullable=False)
    expires_at = db.Column(db.DateTime, nullable=False)
