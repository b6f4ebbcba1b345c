"""The blueprint of tag security, on which its route modules register their routes."""
from ...extensions import Blueprint

blp = Blueprint("security", __name__, description="Forge request keys, launch codes and task permits")
