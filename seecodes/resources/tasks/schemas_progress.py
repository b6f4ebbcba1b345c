"""Schemas of POST/GET /v1/tasks/{taskId}/progress."""
import marshmallow as ma
from marshmallow import validate

from ...extensions import Schema
from ..fields import HintsSchema, project_id

MAX_LIST_ITEMS = 100
MAX_LINE_CHARS = 2000
MAX_LABEL_CHARS = 64


def _lines(description: str, example: list[str]):
    return ma.fields.List(
        ma.fields.String(validate=validate.Length(max=MAX_LINE_CHARS)),
        load_default=list, dump_default=list, validate=validate.Length(max=MAX_LIST_ITEMS),
        metadata={"description": f"{description} (at most {MAX_LIST_ITEMS} lines of {MAX_LINE_CHARS} characters)",
                  "example": example},
    )


def _label(description: str, example: str):
    return ma.fields.String(allow_none=True, load_default=None, validate=validate.Length(max=MAX_LABEL_CHARS),
                            metadata={"description": description, "example": example})


class ProgressDocumentSchema(Schema):
    """The whole document; a POST replaces what was stored (omitted lists are empty, labels null)."""

    ready = _lines("Done items", ["Protected-route wrapper is live"])
    left = _lines("Remaining work", ["Callback validation still needs coverage"])
    progress = _label("Free-form progress label", "67%")
    confidence = _label("Free-form confidence label", "Medium")
    risks = _lines("Risk flags", ["Identity provider payload may still change"])
    logs = _lines("Recent activity lines", ["Recent activity summary line"])


class StoredProgressSchema(ProgressDocumentSchema):
    updatedAt = ma.fields.String(required=True, metadata={"description": "ISO-8601 UTC", "example": "2026-04-04T12:34:56Z"})


class ProgressQuerySchema(HintsSchema):
    projectId = project_id(required=True)


class ProgressSavedSchema(Schema):
    ok = ma.fields.Boolean(required=True)


class ProgressAnswerSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    progress = ma.fields.Nested(StoredProgressSchema, allow_none=True,
                                metadata={"description": "null when nothing was stored for the task"})
