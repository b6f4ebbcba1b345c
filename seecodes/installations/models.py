"""The installation row: one per Forge installation (the backend's tenant key)."""
from sqlalchemy import CheckConstraint

from ..extensions import db
from ..models_base import utcnow


class Installation(db.Model):
    __tablename__ = "installations"
    __table_args__ = (CheckConstraint("credits >= 0", name="ck_installations_credits_nonnegative"),)

    id = db.Column(db.Integer, primary_key=True)
    # Tenant key: the installation ARI (ari:cloud:ecosystem::installation/<uuid>).
    installation_id = db.Column(db.String(255), nullable=False, unique=True)
    # The Jira site's own cloud id (a UUID), learned from the token or a hint.
    site_cloud_id = db.Column(db.String(255), nullable=True, index=True)
    site_url = db.Column(db.String(512), nullable=True)
    # active | uninstalled (set by the Forge uninstalled event; only the installed event reactivates) | any other
    # value an operator sets (suspended, …): every status but active is refused.
    status = db.Column(db.String(32), nullable=False, default="active")
    uninstalled_at = db.Column(db.DateTime, nullable=True)
    # app.version of the latest installed or upgraded lifecycle event.
    app_version = db.Column(db.String(64), nullable=True)
    credits = db.Column(db.Integer, nullable=False, default=0)
    # A display-only public identifier (no secret stands behind it).
    api_key_prefix = db.Column(db.String(64), nullable=False)
    capability_set = db.Column(db.String(64), nullable=True)
    license_active = db.Column(db.Boolean, nullable=False, default=False)
    dev_mode = db.Column(db.Boolean, nullable=False, default=False)
    environment_type = db.Column(db.String(64), nullable=True)
    activation_source = db.Column(db.String(64), nullable=False, default="forge-token")
    billing_mode = db.Column(db.String(32), nullable=False, default="forge")
    # The latest count reported to POST /v1/jira/instance-metrics (its series is in instance_metrics), kept here
    # because GET /v1/instances/me reads it on every call.
    installed_users_count = db.Column(db.Integer, nullable=True)
    installed_users_reported_at = db.Column(db.DateTime, nullable=True)
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
