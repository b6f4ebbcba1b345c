"""Schemas of POST /v1/tasks/activity-snapshot."""
from datetime import timedelta

import marshmallow as ma
from marshmallow import validate

from ...extensions import Schema
from ..fields import project_id, task_id

MAX_WINDOW = timedelta(hours=24)
MAX_LOC = 10_000_000
MAX_CHANGED_FILES = 1000
MAX_PATH_CHARS = 1024


class JsonBoolean(ma.fields.Boolean):
    """true or false only: the document says boolean, so 1 or "yes" are refused (1 == True in Python)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


def _count(maximum: int, example: int, description: str, **kwargs):
    return ma.fields.Integer(strict=True, validate=validate.Range(min=0, max=maximum),
                             metadata={"example": example, "description": description}, **kwargs)


def _plausible_year(moment) -> None:
    # Also keeps UTC conversion of far-off offsets (year 1 or 9999) from overflowing.
    if not 1970 <= moment.year <= 9998:
        raise ma.ValidationError("The year must be between 1970 and 9998.")


def _moment(example: str, description: str, **kwargs):
    return ma.fields.AwareDateTime(format="iso", validate=_plausible_year,
                                   metadata={"example": example, "description": description}, **kwargs)


class ActivitySnapshotBodySchema(Schema):
    projectId = project_id(metadata={"description": "Optional; when sent it must be the permit's project"})
    taskId = task_id(metadata={"description": "Optional; when sent it must be the permit's task"})
    windowStartedAt = _moment("2026-04-04T10:00:00.000Z", "ISO-8601 with a timezone", required=True)
    windowEndedAt = _moment("2026-04-04T10:15:00.000Z", "After windowStartedAt, at most 24 h later",
                            required=True)
    taskStartedAt = _moment("2026-04-04T08:30:00.000Z", "Optional", allow_none=True)
    taskAgeMinutes = _count(10_000_000, 105, "Optional", allow_none=True)
    humanActiveMs = _count(int(MAX_WINDOW.total_seconds() * 1000), 420000,
                           "Active editor time; not more than the window", load_default=0)
    locAdded = _count(MAX_LOC, 28, "Lines added", load_default=0)
    locRemoved = _count(MAX_LOC, 11, "Lines removed", load_default=0)
    locTotal = _count(2 * MAX_LOC, 39, "Default locAdded + locRemoved", allow_none=True, load_default=None)
    changedFiles = ma.fields.List(ma.fields.String(validate=validate.Length(min=1, max=MAX_PATH_CHARS)),
                                  load_default=list, validate=validate.Length(max=MAX_CHANGED_FILES),
                                  metadata={"example": ["src/auth.ts", "src/routes.tsx"]})
    changedFilesCount = _count(1_000_000, 2, "Default: the number of distinct changedFiles", allow_none=True,
                               load_default=None)
    architectureChange = JsonBoolean(load_default=False, metadata={"example": False})
    logicChange = JsonBoolean(load_default=False, metadata={"example": True})
    specificationUiChange = JsonBoolean(load_default=False, metadata={"example": False})

    @ma.validates_schema(skip_on_field_errors=True)
    def window_is_consistent(self, data, **kwargs):
        started, ended = data["windowStartedAt"], data["windowEndedAt"]
        if ended <= started:
            raise ma.ValidationError("Must be after windowStartedAt.", "windowEndedAt")
        if ended - started > MAX_WINDOW:
            raise ma.ValidationError("The window may last at most 24 hours.", "windowEndedAt")
        if data["humanActiveMs"] > (ended - started) / timedelta(milliseconds=1):
            raise ma.ValidationError("Cannot exceed the window's length.", "humanActiveMs")


class ActivitySnapshotAnswerSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    stored = ma.fields.Boolean(required=True, metadata={"description": "false when this window was stored before"})
    timestamp = ma.fields.String(required=True, metadata={"example": "2026-04-04T10:15:00.000000Z",
                                                          "description": "The window's end, ISO-8601 UTC"})
    effortUnits = ma.fields.Integer(required=True, metadata={"description": "Formula v1 (of the stored snapshot)"})
