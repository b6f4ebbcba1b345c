"""Schemas of GET /v1/tasks/context."""
import marshmallow as ma

from ...extensions import Schema


class TaskContextSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    context = ma.fields.Dict(allow_none=True)
    initialTai = ma.fields.Dict(allow_none=True)
