"""Extension singletons and the project's Api, Blueprint and Schema base classes."""
import flask
import marshmallow as ma
from flask_migrate import Migrate
from flask_smorest import Api as _Api, Blueprint as _Blueprint
from flask_sqlalchemy import SQLAlchemy

from . import apidoc
from .errors import HTTP_CODES, http_exception_response
from .json_input import JSONBodyParser

db = SQLAlchemy()
migrate = Migrate()


class Schema(ma.Schema):
    """Bodies are open-ended in the contract: unknown keys are ignored, known ones are validated."""

    class Meta:
        unknown = ma.EXCLUDE


class ErrorEnvelopeSchema(Schema):
    """The one error envelope; some codes add the optional fields below (each operation lists which)."""

    ok = ma.fields.Boolean(required=True, metadata={"description": "Always false", "enum": [False],
                                                    "example": False})
    error = ma.fields.String(required=True, metadata={"description": "Stable machine-readable code",
                                                      "example": "request_key_replayed"})
    detail = ma.fields.String(required=True, metadata={"description": "Human-readable explanation"})
    requestId = ma.fields.String(metadata={"description": "The request's id (also the X-Request-ID header)"})
    errors = ma.fields.Dict(metadata={"description": "validation_failed: field -> messages (nested for nested "
                                                     "fields)"})
    missingFiles = ma.fields.List(ma.fields.String(), metadata={"description": "uploads_incomplete: files not "
                                                                               "uploaded yet"})
    files = ma.fields.List(ma.fields.String(), metadata={"description": "upload_too_large: the oversized files"})
    requiredCredits = ma.fields.Integer(metadata={"description": "insufficient_credits: the run's price"})
    availableCredits = ma.fields.Integer(metadata={"description": "insufficient_credits: the balance"})
    estimatedInputTokens = ma.fields.Integer(metadata={"description": "input_exceeds_context: the estimate"})
    maxContext = ma.fields.Integer(metadata={"description": "input_exceeds_context: the model's limit"})
    runStatus = ma.fields.String(metadata={"description": "run_not_succeeded: the run's current status"})
    maxOpenRuns = ma.fields.Integer(metadata={"description": "too_many_open_runs: the installation's cap"})
    installationStatus = ma.fields.String(metadata={"description": "installation_uninstalled: `uninstalled`"})


class Api(_Api):
    ERROR_SCHEMA = ErrorEnvelopeSchema

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.document_finishers = []

    def handle_http_exception(self, error):
        return http_exception_response(error)

    def document(self) -> dict:
        """The served OpenAPI document: apispec's output passed through the registered finishers."""
        document = self.spec.to_dict()
        for finisher in self.document_finishers:
            document = finisher(document)
        return document

    def document_text(self) -> str:
        """GET /openapi.json's body; `flask openapi print` prints the same (resources.openapi_doc.cli)."""
        return flask.json.dumps(self.document(), indent=2, sort_keys=False)

    def _openapi_json(self):
        return flask.current_app.response_class(self.document_text(), mimetype="application/json")


# What reading a JSON body can refuse with (json_input and webargs): documented by @blp.arguments itself.
JSON_BODY_ERRORS = {400: ["invalid_json"], 413: ["payload_too_large"], 415: ["unsupported_media_type"],
                    422: ["validation_failed"]}


class Blueprint(_Blueprint):
    """One per OpenAPI tag. `arguments` documents the refusals of the parsing it adds."""

    ARGUMENTS_PARSER = JSONBodyParser()

    def arguments(self, schema, *, location="json", error_status_code=422, **kwargs):
        decorator = super().arguments(schema, location=location, error_status_code=error_status_code, **kwargs)
        # A query refused with another status than 422 answers that status's generic code (errors.HTTP_CODES).
        refusals = JSON_BODY_ERRORS if location == "json" else {error_status_code: [HTTP_CODES[error_status_code]]}
        return lambda view: apidoc.declare(decorator(view), refusals)


# Two bearer schemes with distinct bearerFormat: a generator's auth callback tells them apart by name.
SECURITY_SCHEMES = {
    "forgeBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Forge invocation token (RS256 JWT) that Forge sends to a remote backend: "
                       "`Authorization: Bearer <forge-invocation-token>`. Jira-side routes only.",
    },
    "jiraRequestKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-SeeCodes-Jira-Request-Key",
        "description": "The chain's current single-use request key (from POST /v1/jira/request-key, then from "
                       "each answer's X-SeeCodes-Next-Request-Key). Also declared as a header parameter of every "
                       "Jira-side operation, for generators that ignore apiKey schemes.",
    },
    "taskPermit": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "SeeCodes-Task-Permit",
        "description": "Task permit from launch-exchange or task-permit (24 hours, one project/task): "
                       "`Authorization: Bearer <task-permit>`. Editor-side routes (/v1/tasks/*, /v1/projects/*).",
    },
}

api = Api()
