"""The blueprint of tag instances, on which its route modules register their routes."""
from ...extensions import Blueprint

blp = Blueprint("instances", __name__, description="Jira installation state")
