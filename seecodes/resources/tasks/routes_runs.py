"""Routes of the tasks tag: AI runs (init, start, status, output, logs)."""
from flask import Response, jsonify
from flask.views import MethodView

from ... import readonly
from ...apidoc import raises
from ...auth.guards import task_permit
from ...runs import service as runs
from . import blp
from .schemas_runs import InitAnswerSchema, InitBodySchema, RunStatusAnswerSchema, StartAnswerSchema, StartBodySchema

RUN_NOT_FOUND = {404: ["run_not_found"]}  # no such run in the permit's tenant


def _text(body: str) -> Response:
    return Response(body, status=200, mimetype="text/plain", headers={"Cache-Control": "no-store"})


@blp.route("/v1/tasks/init")
class RunInit(MethodView):
    @task_permit
    @blp.arguments(InitBodySchema)
    @blp.response(200, InitAnswerSchema)
    @raises({503: ["storage_unavailable"]})  # the object store cannot be used (missing credentials or bucket)
    def post(self, body, permit):
        """Initialize an AI run

        Creates a run bound to the permit's project/task and answers an upload target per input file
        (`files` defaults to `["list.md"]`): a signed PUT URL on local storage, a presigned POST on S3
        (`uploadForms`). 422 for an unknown model or an unacceptable file name; 503 `storage_unavailable`
        when the store cannot be used (the detail says what to fix).
        """
        return {"ok": True, **runs.init_run(permit, body["model"], body["files"])}


@blp.route("/v1/tasks/<run_id:runId>/start")
class RunStart(MethodView):
    @task_permit
    @blp.arguments(StartBodySchema)
    @blp.response(200, StartAnswerSchema)
    @raises({**RUN_NOT_FOUND, 402: ["insufficient_credits"], 409: ["uploads_incomplete", "run_already_started"],
             413: ["input_exceeds_context", "upload_too_large"],
             503: ["queue_unavailable", "storage_unavailable"]})  # queue_unavailable: nothing was charged
    def post(self, body, runId, permit):
        """Queue the AI run

        Once every input is uploaded: estimates the input tokens, prices them with the model's pricing
        (`ceil(base + per_token × tokens)`), debits the credits and queues the run.
        """
        return {"ok": True, **runs.start_run(permit, runId, body["model"], body["userPrompt"])}


@blp.route("/v1/tasks/<run_id:runId>")
class RunStatus(MethodView):
    @task_permit(reads=runs.STATUS_WITH_PERMIT)
    @blp.response(200, RunStatusAnswerSchema)
    @raises({**RUN_NOT_FOUND, 503: ["storage_unavailable"]})
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
    @raises({**RUN_NOT_FOUND, 409: ["run_not_succeeded"], 503: ["storage_unavailable"]})
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
    @raises(RUN_NOT_FOUND)
    def get(self, runId, permit, read):
        """Read task logs

        The execution log so far (readable while the run is still going), as text/plain.
        """
        run_id = runs.run_id_from_read(permit, read)
        with readonly.connection() as connection:
            return _text(runs.log_text(run_id, connection))
