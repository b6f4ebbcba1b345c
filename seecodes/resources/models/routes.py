"""GET /v1/models."""
from flask.views import MethodView

from ...apidoc import raises
from ...catalog import service as catalog
from .blueprint import blp
from .schemas import ModelCatalogSchema


@blp.route("/v1/models")
class Models(MethodView):
    @blp.response(200, ModelCatalogSchema)
    @raises({503: ["service_unavailable"]})  # the catalog is read from the database
    def get(self):
        """Read the model catalog

        Model aliases, context limits, descriptions and pricing. Public.
        """
        return {"ok": True, "models": [catalog.to_document(m) for m in catalog.list_models()]}
