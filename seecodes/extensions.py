"""Extension singletons and the project's Api, Blueprint and Schema base classes."""
import marshmallow as ma
from flask_migrate import Migrate
from flask_smorest import Api as _Api, Blueprint as _Blueprint
from flask_sqlalchemy import SQLAlchemy

from .errors import http_exception_response
from .json_input import JSONBodyParser

db = SQLAlchemy()
migrate = Migrate()


class Schema(ma.Schema):
    """Bodies are open-ended in the contract: unknown keys are ignored, known ones are validated."""

    class Meta:
        unknown = ma.EXCLUDE


class ErrorSchema(Schema):
    ok = ma.fields.Boolean(metadata={"description": "Always false"})
    error = ma.fields.String(metadata={"description": "Stable machine-readable code"})
    detail = ma.fields.String(metadata={"description": "Human-readable explanation"})
    errors = ma.fields.Dict(metadata={"description": "422 only: field -> messages"})
    requestId = ma.fields.String(metadata={"description": "The request's X-Request-ID, to quote to the operator"})


class Api(_Api):
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error):
        return http_exception_response(error)


class Blueprint(_Blueprint):
    """One per OpenAPI tag."""

    ARGUMENTS_PARSER = JSONBodyParser()


SECURITY_SCHEMES = {
    "forgeBearer": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "Forge invocation token (RS256) sent by the Jira app.",
    },
    "jiraRequestKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-SeeCodes-Jira-Request-Key",
        "description": "The chain's current single-use request key; the next one comes back in "
        "X-SeeCodes-Next-Request-Key.",
    },
    "taskPermit": {
        "type": "http",
        "scheme": "bearer",
        "description": "Task permit from launch-exchange or task-permit, bound to one project/task.",
    },
}

api = Api()
