"""Schemas of the run routes: /v1/tasks/init, /v1/tasks/{runId}/start, /v1/tasks/{runId}."""
import marshmallow as ma
from marshmallow import validate

from ...extensions import Schema
from ...runs import rules
from ...runs.models import CANCELLED, FAILED, IN_PROCESS, INITIALIZED, PROCESSING_REMOTE, QUEUED, SUCCEEDED

MODEL_ID = validate.Length(min=1, max=128)
# Every status a run can be in, in life-cycle order: what GET /v1/tasks/{runId} may answer.
RUN_STATUSES = [INITIALIZED, QUEUED, IN_PROCESS, PROCESSING_REMOTE, SUCCEEDED, FAILED, CANCELLED]


class InitBodySchema(Schema):
    model = ma.fields.String(required=True, validate=MODEL_ID,
                             metadata={"description": "A model id of GET /v1/models", "example": "strict light"})
    files = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=rules.MAX_NAME_BYTES)),
        load_default=lambda: list(rules.DEFAULT_FILES), validate=validate.Length(min=1, max=rules.MAX_FILES),
        metadata={"description": f"Input file names: at most {rules.MAX_FILES}, unique, at most "
                                 f"{rules.MAX_NAME_BYTES} bytes in UTF-8, no path separators, no '.'/'..', no "
                                 "control characters", "example": ["list.md"]},
    )

    @ma.validates("files")
    def _validate_files(self, files, **_kwargs):
        # Runs after the item fields: every name here is a string.
        problems = rules.file_name_problems(files)
        if problems:
            raise ma.ValidationError(problems)


class UploadFormSchema(Schema):
    url = ma.fields.String(required=True)
    fields = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True)


class InitAnswerSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    runId = ma.fields.String(required=True, metadata={"example": "run_3f9c0b1e2d4a5b6c7d8e9f00"})
    bucket = ma.fields.String(required=True, metadata={"description": "S3 bucket, or `local`"})
    prefix = ma.fields.String(required=True, metadata={"example": "runs/run_3f9c0b1e2d4a5b6c7d8e9f00/input/"})
    uploads = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), required=True,
                             metadata={"description": "file name -> upload URL, on every deployment: send the "
                                                      "file's raw bytes there with a plain HTTP PUT (local storage: "
                                                      "a URL signed by the app; S3: a presigned PUT URL). Valid "
                                                      "SEECODES_STORAGE_URL_TTL_SECONDS (1 h)."})
    uploadMethod = ma.fields.String(required=True, metadata={"description": "Always `PUT`: how `uploads` is used",
                                                             "enum": ["PUT"]})
    uploadForms = ma.fields.Dict(
        keys=ma.fields.String(), values=ma.fields.Nested(UploadFormSchema),
        metadata={"description": "Optional extra, S3 only; `uploads` is enough. File name -> presigned POST "
                                 "(multipart/form-data: every field of `fields`, then the file as `file`) for "
                                 "clients that want S3 itself to refuse a file over the upload limit."})


class StartBodySchema(Schema):
    model = ma.fields.String(load_default=None, allow_none=True, validate=MODEL_ID,
                             metadata={"description": "Optional; must be the model given to init"})
    userPrompt = ma.fields.String(load_default=None, allow_none=True,
                                  validate=validate.Length(max=rules.MAX_PROMPT_CHARS),
                                  metadata={"example": "generate change log"})


class StartAnswerSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    runId = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"description": "A started run is queued", "enum": [QUEUED],
                                                       "example": "queued"})
    estimatedInputTokens = ma.fields.Integer(required=True, metadata={"example": 12456})
    estimatedCredits = ma.fields.Integer(required=True, metadata={"example": 37})


class RunStatusSchema(Schema):
    status = ma.fields.String(required=True, metadata={
        "description": "initialized (waiting for uploads and start) | queued | in_process | processing_remote | "
                       "succeeded | failed (also a run not started within SEECODES_RUN_INIT_TTL_SECONDS: it "
                       "expired) | cancelled (beyond the contract: POST /v1/tasks/{runId}/cancel)",
                       "enum": RUN_STATUSES})
    updatedAt = ma.fields.String(required=True, metadata={"example": "2026-04-04T12:34:56Z"})
    error = ma.fields.String(metadata={"description": "Why the run failed"})
    resultZipUrl = ma.fields.String(metadata={"description": "Once succeeded: presigned GET URL of output + log "
                                                             "(until SEECODES_RUN_DATA_RETENTION_DAYS removes them)"})


class RunStatusAnswerSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    status = ma.fields.Nested(RunStatusSchema, required=True)


class CancelAnswerSchema(Schema):
    ok = ma.fields.Boolean(required=True)
    runId = ma.fields.String(required=True)
    status = ma.fields.String(required=True, metadata={"enum": [CANCELLED], "example": "cancelled"})
    refundedCredits = ma.fields.Integer(required=True, metadata={
        "description": "Credits given back for the run (0 when it was never started)", "example": 37})
