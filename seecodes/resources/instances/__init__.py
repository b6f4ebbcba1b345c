"""Tag instances: the Jira installation as the backend sees it."""
from .blueprint import blp  # noqa: F401
from . import routes  # noqa: F401  (registers the routes on blp)
