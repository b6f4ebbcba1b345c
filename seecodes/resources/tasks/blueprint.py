"""The blueprint of tag tasks, on which its route modules register their routes."""
from ...extensions import Blueprint

blp = Blueprint("tasks", __name__, description="Task context, runs, progress, activity and project indexes")
