"""Schemas of the system tag."""
import marshmallow as ma

from ...extensions import Schema


class HealthSchema(Schema):
    ok = ma.fields.Boolean(required=True)
