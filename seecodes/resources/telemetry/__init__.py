"""Tag telemetry: usage, instance metrics, the disabled telemetry ingestion, team competition."""
from .blueprint import blp  # noqa: F401
from . import routes  # noqa: F401  (registers the routes on blp)
