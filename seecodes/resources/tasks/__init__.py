"""Tag tasks: task context, runs, progress, activity snapshots and project indexes (permit routes)."""
from .blueprint import blp  # noqa: F401
# Each module registers its routes on blp.
from . import routes_context, routes_runs, routes_progress, routes_activity, routes_indexes  # noqa: F401
