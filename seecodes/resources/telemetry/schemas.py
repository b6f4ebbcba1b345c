"""Schemas of the telemetry tag."""
from datetime import date

import marshmallow as ma
from marshmallow import validate

from ...extensions import Schema
from ..fields import FullMatch, HintsSchema, StrictInteger, project_id

MAX_USAGE_LIMIT = 200
SOURCE = FullMatch(r"^[A-Za-z0-9._:-]{1,64}$", error="Letters, digits and . _ : - only (at most 64).")
CURSOR = FullMatch(r"^[1-9][0-9]{0,17}$", error="Must be a nextCursor value from a previous page.")


class UsageQuerySchema(HintsSchema):
    limit = ma.fields.Integer(load_default=50, validate=validate.Range(min=1, max=MAX_USAGE_LIMIT),
                              metadata={"description": f"Page size, 1-{MAX_USAGE_LIMIT} (default 50)"})
    cursor = ma.fields.String(allow_none=True, validate=CURSOR,
                              metadata={"description": "Opaque: the nextCursor of the previous page", "maxLength": 18})


class UsageItemSchema(Schema):
    timestamp = ma.fields.String(required=True, metadata={"example": "2026-04-04T12:34:56Z"})
    type = ma.fields.String(required=True, metadata={"description": "task_run (a debit) or refund",
                                                     "example": "task_run"})
    taskId = ma.fields.String(allow_none=True, metadata={"example": "AUTH-128"})
    projectId = ma.fields.String(allow_none=True, metadata={"example": "AUTH"})
    runId = ma.fields.String(allow_none=True)
    userAccountId = ma.fields.String(allow_none=True)
    credits = ma.fields.Integer(required=True, metadata={"description": "Credits moved, always positive", "example": 5})


class UsageSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    items = ma.fields.List(ma.fields.Nested(UsageItemSchema), required=True,
                           metadata={"description": "Newest first"})
    nextCursor = ma.fields.String(allow_none=True,
                                  metadata={"description": "Pass as cursor for the next page; null on the last"})
    availableCredits = ma.fields.Integer(required=True)


class InstanceMetricsBodySchema(HintsSchema):
    installedUsersCount = StrictInteger(required=True,
                                            validate=validate.Range(min=0, max=10_000_000),
                                            metadata={"example": 17})
    source = ma.fields.String(allow_none=True, validate=SOURCE, metadata={"example": "forge-hourly-sync",
                                                                          "maxLength": 64})


class MetricsRecordedSchema(Schema):
    ok = ma.fields.Boolean(required=True)


class TelemetryEventSchema(Schema):
    eventType = ma.fields.String(metadata={"example": "ai.usage"})
    cloudId = ma.fields.String(metadata={"example": "ari:cloud:ecosystem::installation/..."})
    requestId = ma.fields.String(metadata={"example": "1f0d7e2e-..."})
    timestamp = ma.fields.String(metadata={"example": "2026-04-04T12:34:56Z"})


class TelemetryEventsBodySchema(Schema):
    """Documented only: the route reads no body while ingestion is disabled."""

    events = ma.fields.List(ma.fields.Nested(TelemetryEventSchema))


DATE_RANGE = validate.Range(min=date(1970, 1, 1), max=date(9998, 12, 31), error="Must be a date between {min} and {max}.")


class TeamCompetitionQuerySchema(HintsSchema):
    projectId = project_id(allow_none=True)
    startDate = ma.fields.Date(allow_none=True, validate=DATE_RANGE,
                               metadata={"description": "ISO date (UTC), inclusive", "example": "2026-04-01"})
    endDate = ma.fields.Date(allow_none=True, validate=DATE_RANGE,
                             metadata={"description": "ISO date (UTC), inclusive; at most 366 days after "
                                                      "startDate (422 beyond)", "example": "2026-04-30"})


class CompetitionItemSchema(Schema):
    source = ma.fields.String(required=True, metadata={"description": "snapshot or task_run"})
    projectId = ma.fields.String(required=True)
    taskId = ma.fields.String(required=True)
    userAccountId = ma.fields.String(allow_none=True)
    timestamp = ma.fields.String(required=True)
    windowStartedAt = ma.fields.String(allow_none=True)
    windowEndedAt = ma.fields.String(allow_none=True)
    humanActiveMs = ma.fields.Integer()
    locAdded = ma.fields.Integer()
    locRemoved = ma.fields.Integer()
    locTotal = ma.fields.Integer()
    changedFiles = ma.fields.List(ma.fields.String(), metadata={
        "description": "At most the first 100 distinct paths sent; changedFilesCount counts them all",
        "maxItems": 100})
    changedFilesCount = ma.fields.Integer()
    architectureChange = ma.fields.Boolean()
    logicChange = ma.fields.Boolean()
    specificationUiChange = ma.fields.Boolean()
    effortUnits = ma.fields.Integer(required=True)
    runId = ma.fields.String(allow_none=True)
    runStatus = ma.fields.String()


class TaskSummarySchema(Schema):
    projectId = ma.fields.String(required=True)
    taskId = ma.fields.String(required=True)
    source = ma.fields.String(required=True, metadata={"description": "snapshot or task_run"})
    effortUnits = ma.fields.Integer(required=True)
    snapshotCount = ma.fields.Integer(required=True)
    runCount = ma.fields.Integer(required=True, metadata={"description": "Fallback run items"})
    activeMinutes = ma.fields.Float(required=True)
    linesChanged = ma.fields.Integer(required=True)
    firstActivityAt = ma.fields.String(required=True)
    lastActivityAt = ma.fields.String(required=True)
    contributors = ma.fields.List(ma.fields.String(), required=True)


class MonthBaselineSchema(Schema):
    month = ma.fields.String(required=True, metadata={"example": "2026-04"})
    taskCount = ma.fields.Integer(required=True)
    medianEffortUnits = ma.fields.Integer(required=True)


class WeightsSchema(Schema):
    activeMinute = ma.fields.Float(required=True)
    locChanged = ma.fields.Float(required=True)
    changedFile = ma.fields.Raw(required=True)
    architectureBonus = ma.fields.Raw(required=True)
    logicBonus = ma.fields.Raw(required=True)
    specificationUiBonus = ma.fields.Raw(required=True)


class FormulaSchema(Schema):
    version = ma.fields.String(required=True)
    weights = ma.fields.Nested(WeightsSchema, required=True)


class SourceSummarySchema(Schema):
    snapshotItems = ma.fields.Integer(required=True)
    taskRunFallbackItems = ma.fields.Integer(required=True)
    vscodeFallbackItems = ma.fields.Integer(required=True)
    fallbackTaskCount = ma.fields.Integer(required=True)


class TeamCompetitionSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    projectId = ma.fields.String(allow_none=True)
    startDate = ma.fields.String(required=True, metadata={"description": "The range answered, inclusive"})
    endDate = ma.fields.String(required=True)
    items = ma.fields.List(ma.fields.Nested(CompetitionItemSchema), required=True,
                           metadata={"description": "In time order; at most the newest 2,000 of the range "
                                                    "(see itemsTruncated)", "maxItems": 2000})
    itemsTruncated = ma.fields.Boolean(required=True, metadata={
        "description": "true when older items of the range were left out; narrow the range or projectId"})
    totalItems = ma.fields.Integer(required=True, metadata={"description": "Items in the range, answered or not"})
    taskSummaries = ma.fields.List(ma.fields.Nested(TaskSummarySchema), required=True, metadata={
        "description": "Highest effort first (then projectId, taskId); at most 2,000 tasks of the range "
                       "(see taskSummariesTruncated)", "maxItems": 2000})
    taskSummariesTruncated = ma.fields.Boolean(required=True, metadata={
        "description": "true when tasks of lower effort were left out of taskSummaries; monthBaseline and "
                       "sourceSummary still count them"})
    totalTaskSummaries = ma.fields.Integer(required=True, metadata={
        "description": "Tasks in the range, answered in taskSummaries or not"})
    monthBaseline = ma.fields.Nested(MonthBaselineSchema, required=True)
    formula = ma.fields.Nested(FormulaSchema, required=True)
    sourceSummary = ma.fields.Nested(SourceSummarySchema, required=True)
