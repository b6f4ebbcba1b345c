"""The security event row."""
from ..extensions import db
from ..models_base import BigIntPK, JSONType, utcnow


class SecurityEvent(db.Model):
    __tablename__ = "security_events"

    id = db.Column(BigIntPK, primary_key=True, autoincrement=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=True, index=True)
    kind = db.Column(db.String(64), nullable=False, index=True)
    client_addr = db.Column(db.String(64), nullable=True)
    details = db.Column(JSONType, nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
