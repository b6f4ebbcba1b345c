"""GET /healthz (liveness), GET /readyz (readiness); /openapi.json itself is served by flask-smorest and
documented here."""
from flask import Blueprint, jsonify
from flask.views import MethodView
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ... import readiness
from ...errors import Unavailable
from ...apidoc import raises
from ...extensions import db
from .blueprint import blp
from .schemas import HealthSchema


@blp.route("/healthz")
class Health(MethodView):
    @blp.response(200, HealthSchema)
    @raises({503: ["database_unavailable"]})
    def get(self):
        """Health check

        Minimal liveness probe; also checks that the database answers.
        """
        try:
            db.session.execute(text("SELECT 1"))
        except SQLAlchemyError:
            db.session.rollback()
            raise Unavailable("The database does not answer.", code="database_unavailable")
        return {"ok": True}


# Operational endpoints stay out of /openapi.json, which documents exactly the contract's routes.
operations = Blueprint("operations", __name__)


@operations.get("/readyz")
def ready():
    """Readiness: database, Redis (when configured), object storage, at least one live worker (when a queue is
    configured) and the age of the oldest queued run; 503 `not_ready` with reason codes (and, with the metrics
    token, the details of every check)."""
    answer = readiness.report(readiness.run_all(), detailed=readiness.operator_asking())
    if not answer.ok:
        raise Unavailable(answer.detail, code="not_ready", **answer.fields)
    return jsonify({"ok": True, **answer.fields})


def document_spec_route(app, api) -> None:
    """flask-smorest serves /openapi.json but does not list it; the contract does."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "api-docs.openapi_json")
    api.spec.path(
        rule=rule,
        operations={
            "get": {
                "tags": ["system"],
                "summary": "OpenAPI schema",
                "description": "The machine-readable OpenAPI document; Swagger UI is served at /docs.",
                "responses": {"200": {"description": "OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
    )
