"""Installed-user counts reported by the Jira app, one row per report."""
from ..extensions import db
from ..models_base import BigIntPK, utcnow


class InstanceMetric(db.Model):
    __tablename__ = "instance_metrics"
    __table_args__ = (db.Index("ix_instance_metrics_installation_reported", "installation_pk", "reported_at", "id"),)

    id = db.Column(BigIntPK, primary_key=True, autoincrement=True)
    installation_pk = db.Column(db.Integer, db.ForeignKey("installations.id"), nullable=False)
    installed_users_count = db.Column(db.Integer, nullable=False)
    source = db.Column(db.String(64), nullable=True)
    reported_at = db.Column(db.DateTime, nullable=False, default=utcnow)
