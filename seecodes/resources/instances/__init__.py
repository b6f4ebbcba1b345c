"""Tag instances: the Jira installation as the backend sees it."""
from ...extensions import Blueprint

blp = Blueprint("instances", __name__, description="Jira installation state")

from . import routes  # noqa: E402,F401
