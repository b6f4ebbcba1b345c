"""The blueprint of tag models, on which its route modules register their routes."""
from ...extensions import Blueprint

blp = Blueprint("models", __name__, description="Model catalog")
