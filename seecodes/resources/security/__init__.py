"""Tag security: request keys, launch codes, task permits and the launcher page."""
from ...extensions import Blueprint

blp = Blueprint("security", __name__, description="Forge request keys, launch codes and task permits")

from . import routes  # noqa: E402,F401
