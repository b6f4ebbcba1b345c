"""Tag system: health and schema."""
from .blueprint import blp  # noqa: F401
from . import routes  # noqa: F401  (registers the routes on blp)
from .routes import document_spec_route  # noqa: F401
