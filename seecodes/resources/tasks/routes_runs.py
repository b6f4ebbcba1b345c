"""Routes of the tasks tag: AI runs (init, start, status, output, logs, and beyond the contract cancel)."""
from flask import Response, jsonify, request
from flask.views import MethodView

from ... import poll_tags
from ...apidoc import raises
from ...auth.guards import task_permit
from ...idempotency.service import idempotent
from ...runs import service as runs
from .blueprint import blp
from .schemas_runs import (CancelAnswerSchema, InitAnswerSchema, InitBodySchema, RunStatusAnswerSchema,
                           StartAnswerSchema, StartBodySchema)

RUN_NOT_FOUND = {404: ["run_not_found"]}  # no such run in the permit's tenant


def _text(body: str) -> Response:
    return Response(body, status=200, mimetype="text/plain", headers={"Cache-Control": "no-store"})


def _not_modified(etag: str) -> Response:
    """The 304 of a poller that already holds this version (If-None-Match), answered before anything is built."""
    return Response(status=304, headers={"ETag": f'W/"{etag}"', "Cache-Control": "no-store"})


def _byte_range(data: bytes) -> Response:
    """The log whole (200), or from `Range: bytes=N-` (or N-M) on (206); 416 when nothing lies at or after byte N.
    Any other Range form is ignored (RFC 9110 lets a server answer 200 instead)."""
    wanted = runs.byte_range(request.headers.get("Range"), len(data))
    if wanted is None:
        answer = Response(data, status=200, mimetype="text/plain", headers={"Cache-Control": "no-store"})
    else:
        first, last = wanted
        answer = Response(data[first:last + 1], status=206, mimetype="text/plain", headers={
            "Cache-Control": "no-store", "Content-Range": f"bytes {first}-{last}/{len(data)}"})
    answer.headers["Accept-Ranges"] = "bytes"
    return answer


def _tagged(response: Response, etag: str) -> Response:
    """The validator a poller sends back (the poller keeps its copy itself: no shared cache stores a run's data)."""
    response.headers["ETag"] = f'W/"{etag}"'
    return response


@blp.route("/v1/tasks/init")
class RunInit(MethodView):
    @task_permit
    @idempotent
    @blp.arguments(InitBodySchema)
    @blp.response(200, InitAnswerSchema)
    @raises({409: ["too_many_open_runs"],  # the installation has SEECODES_MAX_OPEN_RUNS runs waiting to start
             503: ["storage_unavailable"]})  # the object store cannot be used (missing credentials or bucket)
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
    @idempotent
    @blp.arguments(StartBodySchema)
    @blp.response(200, StartAnswerSchema)
    @raises({**RUN_NOT_FOUND, 402: ["insufficient_credits"],
             409: ["uploads_incomplete", "run_already_started", "run_expired"],
             413: ["input_exceeds_context", "upload_too_large"],  # upload_too_large: the object is deleted
             503: ["queue_unavailable", "storage_unavailable"]})  # queue_unavailable: nothing was charged
    def post(self, body, runId, permit):
        """Queue the AI run

        Once every input is uploaded: estimates the input tokens, prices them with the model's pricing
        (`ceil(base + per_token × tokens)`), debits the credits and queues the run. An input over
        SEECODES_MAX_UPLOAD_BYTES is refused (413 `upload_too_large`) and deleted; the job runs on exactly
        the inputs start measured and fails the run (refunded) if one changed since.
        """
        return {"ok": True, **runs.start_run(permit, runId, body["model"], body["userPrompt"])}


def _status_not_modified(etag: str, status: str) -> Response:
    """A status poll's 304, on the database path and from a tag in Redis alike."""
    return _retry_after(_not_modified(etag), status)


def _retry_after(response: Response, status: str) -> Response:
    wait = runs.poll_after(status)
    if wait is not None:
        response.headers["Retry-After"] = str(wait)
    return response


# With Redis, a conditional status poll of an unchanged run is answered without the database (seecodes.poll_tags).
STATUS_POLLS = poll_tags.PollTags(run_id=lambda view_kwargs: view_kwargs["runId"],
                                  lifetime=runs.status_etag_seconds, not_modified=_status_not_modified)


@blp.route("/v1/tasks/<run_id:runId>")
class RunStatus(MethodView):
    @task_permit(reads=runs.STATUS_WITH_PERMIT, polls=STATUS_POLLS)
    @blp.response(200, RunStatusAnswerSchema)
    @blp.alt_response(304, description="Not modified: the If-None-Match tag is still current (no body)",
                      success=True)
    @raises({**RUN_NOT_FOUND, 503: ["storage_unavailable"]})
    def get(self, runId, permit, read):
        """Poll run status

        The run's status document; `resultZipUrl` (output and log) once it has succeeded, `error` once failed.
        Beyond the contract: an `ETag`, so that `If-None-Match` gets `304` while nothing changed, and while the
        run works a `Retry-After` (seconds) that says when to poll again.
        """
        etag = runs.status_etag(permit, read)
        if request.if_none_match.contains_weak(etag):
            return _status_not_modified(etag, read.run_status)
        # Polled by every IDE while a run works: the answer is built as the schema documents it, not dumped.
        answer = _tagged(jsonify({"ok": True, "status": runs.status_from_read(permit, read)}), etag)
        return _retry_after(answer, read.run_status)


@blp.route("/v1/tasks/<run_id:runId>/output")
class RunOutput(MethodView):
    @task_permit(reads=runs.OUTPUT_WITH_PERMIT)
    @blp.response(200, {"type": "string"}, content_type="text/plain",
                  description="The output artifact (usually Markdown)",
                  example="# Offline report\n")
    @raises({**RUN_NOT_FOUND, 409: ["run_not_succeeded"], 503: ["storage_unavailable"],
             410: ["run_data_removed"]})  # removed SEECODES_RUN_DATA_RETENTION_DAYS after the run settled
    def get(self, runId, permit, read):
        """Read task output

        The final text artifact of a succeeded run, as text/plain.
        """
        return _text(runs.output_from_read(permit, read))


@blp.route("/v1/tasks/<run_id:runId>/logs")
class RunLogs(MethodView):
    @task_permit(reads=runs.LOGS_WITH_PERMIT)
    @blp.response(200, {"type": "string"}, content_type="text/plain",
                  description="One line per event: ISO-8601 UTC time, then text",
                  example="2026-04-04T12:34:56.000000Z queued: ...\n")
    @blp.alt_response(206, schema={"type": "string"}, content_type="text/plain", success=True,
                      description="`Range: bytes=N-`: the log from byte N on (Content-Range says where it is)")
    @blp.alt_response(304, description="Not modified: no line was added since the If-None-Match tag (no body)",
                      success=True)
    @raises({**RUN_NOT_FOUND, 410: ["run_data_removed"], 416: ["range_not_satisfiable"]})
    def get(self, runId, permit, read):
        """Read task logs

        The execution log so far (readable while the run is still going), as text/plain. Beyond the contract:
        an `ETag` (`If-None-Match` gets `304` while no line was added) and byte ranges (`Range: bytes=N-` gets
        `206` with what was appended since byte N, `416` when nothing was), so a follower reads each line once.
        """
        etag = runs.logs_etag(permit, read)  # 410 once the retention removed the log
        if request.if_none_match.contains_weak(etag):
            return _not_modified(etag)
        return _tagged(_byte_range(runs.logs_from_read(permit, read).encode("utf-8")), etag)


@blp.route("/v1/tasks/<run_id:runId>/cancel")
class RunCancel(MethodView):
    @task_permit
    @idempotent
    @blp.response(200, CancelAnswerSchema)
    # No body is read, but one that is sent is still parsed by the app's check of every request (json_input).
    @raises({**RUN_NOT_FOUND, 400: ["invalid_json"], 409: ["run_already_settled"], 413: ["payload_too_large"]})
    def post(self, runId, permit):
        """Cancel a run

        Beyond the contract. A run that has not settled becomes `cancelled` at once and its whole debit is
        refunded (`refundedCredits`); a job still working on it stops at its next step and its work is
        discarded. Cancelling a cancelled run answers the same again; a succeeded or failed run is a 409.
        """
        return {"ok": True, **runs.cancel_run(permit, runId)}
