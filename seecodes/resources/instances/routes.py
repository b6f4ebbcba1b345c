"""GET /v1/instances/me and POST /v1/forge/events (Forge's app lifecycle events)."""
from flask import jsonify
from flask.views import MethodView

from ...apidoc import raises
from ...auth.guards import forge_event, forge_request_key
from ...installations import lifecycle, views as installation_views
from .blueprint import blp
from .schemas import ForgeEventBodySchema, ForgeEventSchema, HintsQuerySchema, InstanceSchema


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


@blp.route("/v1/forge/events")
class ForgeEvents(MethodView):
    @forge_event
    @blp.arguments(ForgeEventBodySchema())
    @blp.response(200, ForgeEventSchema)
    @raises({403: ["tenant_mismatch"]})  # the event's site contradicts the token's installation
    def post(self, body, identity):
        """Receive a Forge app lifecycle event

        Forge delivers `avi:forge:installed:app`, `avi:forge:upgraded:app` and `avi:forge:uninstalled:app` to
        the remote of a `trigger` module, with a Forge invocation token and no request key. Installed
        provisions or reactivates the installation, upgraded records the app version, uninstalled sets the
        status `uninstalled`, revokes every live launch code, permit and request-key chain and fails and
        refunds its runs in flight, all in one transaction. A retried delivery changes nothing (`changed`
        false).
        """
        return lifecycle.apply_event(identity, body["eventType"], body).document()
