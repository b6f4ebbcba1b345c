"""Tag system: health and schema."""
from ...extensions import Blueprint

blp = Blueprint("system", __name__, description="Health and schema")

from . import routes  # noqa: E402,F401  (registers the routes on blp)
from .routes import document_spec_route  # noqa: E402,F401
