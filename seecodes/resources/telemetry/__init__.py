"""Tag telemetry: usage, instance metrics, the disabled telemetry ingestion, team competition."""
from ...extensions import Blueprint

blp = Blueprint("telemetry", __name__, description="Telemetry, analytics and retrospectives")

from . import routes  # noqa: E402,F401
