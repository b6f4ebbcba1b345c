"""Schemas of the models tag."""
import marshmallow as ma

from ...extensions import Schema


class PricingSchema(Schema):
    base = ma.fields.Float(required=True)
    per_token = ma.fields.Float(required=True)


class ModelSchema(Schema):
    id = ma.fields.String(required=True)
    name = ma.fields.String(required=True)
    maxContext = ma.fields.Integer(required=True)
    description = ma.fields.String()
    pricing = ma.fields.Nested(PricingSchema, required=True)


class ModelCatalogSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    models = ma.fields.List(ma.fields.Nested(ModelSchema), required=True)
