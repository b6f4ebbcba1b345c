"""Tag tasks: task context, runs, progress, activity snapshots and project indexes (permit routes)."""
from ...extensions import Blueprint

blp = Blueprint("tasks", __name__, description="Task context, runs, progress, activity and project indexes")

# Each module registers its routes on blp.
from . import routes_context, routes_runs, routes_progress, routes_activity, routes_indexes  # noqa: E402,F401
