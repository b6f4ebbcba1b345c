"""Tag models: the model catalog."""
from ...extensions import Blueprint

blp = Blueprint("models", __name__, description="Model catalog")

from . import routes  # noqa: E402,F401
