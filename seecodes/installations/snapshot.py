"""The installation as a Jira route sees it: the columns its credential check read, one frozen value on every path."""
from dataclasses import dataclass, fields
from datetime import datetime

from .models import Installation


@dataclass(frozen=True, slots=True)
class InstallationSnapshot:
    """What the routes behind the Jira guards read of their installation (GET /v1/instances/me reads them all).

    Built from the row that the request-key statement answers (PostgreSQL's one-statement path) or from the ORM
    row (every other path), after what the request itself teaches is staged, so one type and the same values
    whichever path the guard took. A value, not a row: a route changes its installation with a statement.
    """

    id: int
    installation_id: str
    site_cloud_id: str | None
    site_url: str | None
    status: str
    credits: int
    api_key_prefix: str
    capability_set: str | None
    license_active: bool
    dev_mode: bool
    environment_type: str | None
    activation_source: str
    billing_mode: str
    installed_users_count: int | None
    updated_at: datetime

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return NAMES

    @classmethod
    def of(cls, installation) -> "InstallationSnapshot":
        """From anything with the columns as attributes: the ORM row, a snapshot, a row of COLUMNS."""
        return cls(*(getattr(installation, name) for name in NAMES))


NAMES = tuple(field.name for field in fields(InstallationSnapshot))
# The columns a statement selects (or returns) to build a snapshot, in its fields' order.
COLUMNS = tuple(Installation.__table__.c[name] for name in NAMES)
