"""The blueprint of tag telemetry, on which its route modules register their routes."""
from ...extensions import Blueprint

blp = Blueprint("telemetry", __name__, description="Telemetry, analytics and retrospectives")
