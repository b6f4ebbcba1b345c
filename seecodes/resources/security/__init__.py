"""Tag security: request keys, launch codes, task permits and the launcher page."""
from .blueprint import blp  # noqa: F401
from . import routes  # noqa: F401  (registers the routes on blp)
