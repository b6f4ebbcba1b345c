"""Recording installed-user counts and reading the latest one."""
from datetime import timedelta

from sqlalchemy import delete, or_, select, update

from .. import clock
from ..extensions import db
from ..installations.models import Installation
from .models import InstanceMetric

INSTALLATIONS = Installation.__table__

# Hourly syncs make ~8,800 rows a year per installation; older rows are pruned as new ones arrive.
RETENTION_DAYS = 400


def record(installation_pk: int, installed_users_count: int, source: str | None) -> None:
    """A new point of the series; the installation row keeps the latest count for GET /v1/instances/me."""
    moment = clock.now()
    db.session.add(InstanceMetric(installation_pk=installation_pk, installed_users_count=installed_users_count,
                                  source=source, reported_at=moment))
    # The row lock orders concurrent reports; an older report committing last does not overwrite a newer one.
    # updated_at is the installation's own state, which a report does not change.
    db.session.execute(
        update(INSTALLATIONS)
        .where(INSTALLATIONS.c.id == installation_pk,
               or_(INSTALLATIONS.c.installed_users_reported_at.is_(None),
                   INSTALLATIONS.c.installed_users_reported_at <= moment))
        .values(installed_users_count=installed_users_count, installed_users_reported_at=moment,
                updated_at=INSTALLATIONS.c.updated_at)
    )
    db.session.execute(delete(InstanceMetric).where(
        InstanceMetric.installation_pk == installation_pk,
        InstanceMetric.reported_at < moment - timedelta(days=RETENTION_DAYS),
    ))
    db.session.flush()


def latest_installed_users_count(installation_pk: int) -> int | None:
    """From the series itself (installations.installed_users_count is what the API reads)."""
    return db.session.execute(
        select(InstanceMetric.installed_users_count)
        .where(InstanceMetric.installation_pk == installation_pk)
        .order_by(InstanceMetric.reported_at.desc(), InstanceMetric.id.desc())
        .limit(1)
    ).scalar_one_or_none()
