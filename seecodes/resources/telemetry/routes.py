"""Routes of the telemetry tag: usage, instance metrics, the disabled telemetry ingestion, team competition."""
from flask import jsonify
from flask.views import MethodView

from ... import clock
from ...activity import board
from ...auth.guards import forge_request_key
from ...credits import service as credits
from ...apidoc import raises
from ...errors import DomainError
from ...metrics import service as metrics
from .blueprint import blp
from .schemas import (InstanceMetricsBodySchema, MetricsRecordedSchema, TeamCompetitionQuerySchema, TeamCompetitionSchema,
                      TelemetryEventsBodySchema, UsageQuerySchema, UsageSchema)

TELEMETRY_DISABLED = ("Direct VS Code telemetry ingestion is disabled until an authenticated sender contract "
                      "with replay protection and rate limits is finalized.")


@blp.route("/v1/jira/usage")
class Usage(MethodView):
    @forge_request_key
    @blp.arguments(UsageQuerySchema, location="query")
    @blp.response(200, UsageSchema)
    def get(self, query, caller):
        """Read Jira usage analytics

        The installation's usage rows (debits `task_run` and `refund`s), newest first, `limit` per page
        (default 50, at most 200); pass `nextCursor` back as `cursor` for older rows. Also the
        installation's current availableCredits.
        """
        before = int(query["cursor"]) if query.get("cursor") else None
        rows = credits.usage_page(caller.installation.id, query["limit"] + 1, before)
        page = rows[:query["limit"]]
        return {
            "ok": True,
            "items": [{"timestamp": clock.iso(row.created_at), "type": row.type, "taskId": row.task_id,
                       "projectId": row.project_id, "runId": row.run_id, "userAccountId": row.user_account_id,
                       "credits": row.credits} for row in page],
            "nextCursor": str(page[-1].id) if len(rows) > len(page) else None,
            "availableCredits": caller.installation.credits,
        }


@blp.route("/v1/jira/instance-metrics")
class InstanceMetrics(MethodView):
    @forge_request_key
    @blp.arguments(InstanceMetricsBodySchema)
    @blp.response(200, MetricsRecordedSchema)
    def post(self, body, caller):
        """Report installation metrics

        Records the installed-user count as a new point of the installation's time series; the latest
        appears as installedUsersCount in GET /v1/instances/me.
        """
        metrics.record(caller.installation.id, body["installedUsersCount"], body.get("source"))
        return {"ok": True}


@blp.route("/v1/jira/telemetry/events")
class TelemetryEvents(MethodView):
    # No credential check and no body parsing: nothing a client sends can turn this into anything but 410.
    @blp.doc(deprecated=True, requestBody={"required": False, "content": {
        "application/json": {"schema": TelemetryEventsBodySchema}}})
    @raises({410: ["telemetry_disabled"]})  # always, with the contract's exact detail
    def post(self):
        """Ingest telemetry events (currently disabled)

        Deprecated and disabled: always answers 410 with the detail below, whatever the credentials
        or body, and stores nothing.
        """
        raise DomainError(TELEMETRY_DISABLED, code="telemetry_disabled", status=410)


@blp.route("/v1/jira/team-competition")
class TeamCompetition(MethodView):
    @forge_request_key
    @blp.arguments(TeamCompetitionQuerySchema, location="query")
    @blp.response(200, TeamCompetitionSchema)
    def get(self, query, caller):
        """Read team competition data

        Activity snapshots of the caller's installation whose window ended within startDate..endDate
        (inclusive UTC dates; default the current month), fallback items for tasks with runs but no
        snapshot, per-task summaries, the month baseline (month of endDate) and formula v1. The range
        covers at most 366 days (422 beyond). Bounded answer: at most the newest 2,000 items and the 2,000
        tasks of highest effort (itemsTruncated / totalItems, taskSummariesTruncated / totalTaskSummaries
        say what was left out); totals, monthBaseline and sourceSummary count the whole range.
        """
        answer = board.team_competition(caller.installation.id, query.get("projectId"), query.get("startDate"),
                                        query.get("endDate"))
        # Shaped by the board exactly as TeamCompetitionSchema documents it: dumping its up to 4,000 nested
        # items and summaries through marshmallow again cost more than the database's whole aggregate
        # (docs/benchmarks.md, growth), so the answer is sent as it is.
        return jsonify(answer)
