"""Schemas of the system tag."""
import marshmallow as ma

from ...extensions import Schema


class HealthSchema(Schema):
    ok = ma.fields.Boolean(required=True)


class ReadySchema(Schema):
    ok = ma.fields.Boolean(required=True)
    checks = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Dict(), required=True, metadata={
        "description": "check name (database, redis, storage, workers, queue) -> {ok, detail, …facts}",
        "example": {"database": {"ok": True, "detail": "The database answers."},
                    "queue": {"ok": True, "detail": "Queued runs do not wait too long.", "oldestQueuedSeconds": 0}}})
