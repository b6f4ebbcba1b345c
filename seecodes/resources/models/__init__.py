"""Tag models: the model catalog."""
from .blueprint import blp  # noqa: F401
from . import routes  # noqa: F401  (registers the routes on blp)
