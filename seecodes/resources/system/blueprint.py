"""The blueprint of tag system, on which its route modules register their routes."""
from ...extensions import Blueprint

blp = Blueprint("system", __name__, description="Health and schema")
