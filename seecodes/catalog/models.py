"""A catalog entry."""
from ..extensions import db
from ..models_base import JSONType, utcnow


class CatalogModel(db.Model):
    __tablename__ = "catalog_models"

    id = db.Column(db.String(128), primary_key=True)  # the alias clients send, e.g. "strict light"
    name = db.Column(db.String(128), nullable=False)
    description = db.Column(db.String(1000), nullable=False, default="")
    max_context = db.Column(db.Integer, nullable=False)
    pricing_base = db.Column(db.Float, nullable=False)
    pricing_per_token = db.Column(db.Float, nullable=False)
    provider = db.Column(db.String(32), nullable=False)  # offline | openai | default (SEECODES_AI_*, else offline)
    # openai: {"baseUrl": ..., "model": ..., "apiKeyEnv": ..., "timeoutSeconds": ..., "maxRetries": ...}
    provider_config = db.Column(JSONType, nullable=False, default=dict)
    enabled = db.Column(db.Boolean, nullable=False, default=True)
    position = db.Column(db.Integer, nullable=False, default=0)
    updated_at = db.Column(db.DateTime, nullable=False, default=utcnow, onupdate=utcnow)
