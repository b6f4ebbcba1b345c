"""GET /v1/instances/me."""
from flask import jsonify
from flask.views import MethodView

from ...auth.guards import forge_request_key
from ...installations import views as installation_views
from . import blp
from .schemas import HintsQuerySchema, InstanceSchema


@blp.route("/v1/instances/me")
class InstanceMe(MethodView):
    @forge_request_key
    @blp.arguments(HintsQuerySchema(), location="query")  # an instance: webargs builds none per request
    @blp.response(200, InstanceSchema)
    def get(self, _hints, caller):
        """Read installation state

        The backend view of the caller's Jira installation: status, credits, license and mode.
        """
        # Read on every Jira page load: the document is built as the schema documents it, not dumped.
        return jsonify(installation_views.document(caller.installation))
