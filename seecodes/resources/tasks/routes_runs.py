"""Routes of the tasks tag: AI runs (init, start, status, output, logs)."""
from flask import Response, jsonify
from flask.views import MethodView

from ...auth.guards import task_permit
from ...extensions import ErrorEnvelopeSchema
from ...runs import service as runs
from . import blp
from .schemas_runs import InitAnswerSchema, InitBodySchema, RunStatusAnswerSchema, StartAnswerSchema, StartBodySchema



def _error(status: int, description: str):
    return blp.alt_response(status, schema=ErrorEnvelopeSchema, description=description)


def _text(body: str) -> Response:
    return Response(body, status=200, mimetype="text/plain", headers={"Cache-Control": "no-store"})


@blp.route("/v1/tasks/init")
class RunInit(MethodView):
    @task_permit
    @blp.arguments(InitBodySchema)
    @blp.response(200, InitAnswerSchema)
    @_error(409, "`too_many_open_runs`: the installation has SEECODES_MAX_OPEN_RUNS runs waiting for their start")
    @_error(503, "`storage_unavailable`: the object store cannot be used (missing credentials or bucket)")
    def post(self, body, permit):
        """Initialize an AI run

        Creates a run bound to the permit's project/task and answers an upload target per input file
        (`files` defaults to `["list.md"]`): `uploads[name]` is, on every deployment, a URL that a plain PUT
        of the file's raw bytes uploads to (an app-signed URL on local storage, a presigned PUT on S3).
        On S3 `uploadForms` adds an optional presigned POST form per file, for clients that want the store
        to enforce the size limit. A run not started within SEECODES_RUN_INIT_TTL_SECONDS (24 h) expires.
        422 for an unknown model or an unacceptable file name; 409 `too_many_open_runs` at the open-run
        cap; 503 `storage_unavailable` when the store cannot be used (the detail says what to fix).
        """
        return {"ok": True, **runs.init_run(permit, body["model"], body["files"])}


@blp.route("/v1/tasks/<run_id:runId>/start")
class RunStart(MethodView):
    @task_permit
    @blp.arguments(StartBodySchema)
    @blp.response(200, StartAnswerSchema)
    @_error(402, "Not enough credits for the estimate (requiredCredits, availableCredits)")
    @_error(404, "No such run in the permit's tenant")
    @_error(409, "`uploads_incomplete` (missingFiles), `run_already_started` or `run_expired`")
    @_error(413, "`input_exceeds_context` (the model's maxContext) or `upload_too_large` (files; deleted)")
    @_error(503, "`queue_unavailable`: nothing was charged, the run can be started again")
    def post(self, body, runId, permit):
        """Queue the AI run

        Once every input is uploaded: estimates the input tokens, prices them with the model's pricing
        (`ceil(base + per_token × tokens)`), debits the credits and queues the run. An input over
        SEECODES_MAX_UPLOAD_BYTES is refused (413 `upload_too_large`) and deleted; the job runs on exactly
        the inputs start measured and fails the run (refunded) if one changed since.
        """
        return {"ok": True, **runs.start_run(permit, runId, body["model"], body["userPrompt"])}


@blp.route("/v1/tasks/<run_id:runId>")
class RunStatus(MethodView):
    @task_permit(reads=runs.STATUS_WITH_PERMIT)
    @blp.response(200, RunStatusAnswerSchema)
    @_error(404, "No such run in the permit's tenant")
    def get(self, runId, permit, read):
        """Poll run status

        The run's status document; `resultZipUrl` (output and log) once it has succeeded, `error` once failed.
        """
        # Polled by every IDE while a run works: the answer is built as the schema documents it, not dumped.
        return jsonify({"ok": True, "status": runs.status_from_read(permit, read)})


@blp.route("/v1/tasks/<run_id:runId>/output")
class RunOutput(MethodView):
    @task_permit(reads=runs.OUTPUT_WITH_PERMIT)
    @blp.response(200, {"type": "string"}, content_type="text/plain",
                  description="The output artifact (usually Markdown)",
                  example="# Offline report\n")
    @_error(404, "No such run in the permit's tenant")
    @_error(409, "`run_not_succeeded`: the output exists once the run has succeeded")
    @_error(410, "`run_data_removed`: removed SEECODES_RUN_DATA_RETENTION_DAYS after the run settled")
    def get(self, runId, permit, read):
        """Read task output

        The final text artifact of a succeeded run, as text/plain.
        """
        return _text(runs.output_from_read(permit, read))


@blp.route("/v1/tasks/<run_id:runId>/logs")
class RunLogs(MethodView):
    @task_permit(reads=runs.RUN_WITH_PERMIT)
    @blp.response(200, {"type": "string"}, content_type="text/plain",
                  description="One line per event: ISO-8601 UTC time, then text",
                  example="2026-04-04T12:34:56.000000Z queued: ...\n")
    @_error(404, "No such run in the permit's tenant")
    @_error(410, "`run_data_removed`: removed SEECODES_RUN_DATA_RETENTION_DAYS after the run settled")
    def get(self, runId, permit, read):
        """Read task logs

        The execution log so far (readable while the run is still going), as text/plain.
        """
        return _text(runs.logs_from_read(permit, read))
