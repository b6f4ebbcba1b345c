"""Recording installed-user counts and reading the latest one."""
from datetime import timedelta

from sqlalchemy import delete, select

from .. import clock
from ..extensions import db
from .models import InstanceMetric

# Hourly syncs make ~8,800 rows a year per installation; older rows are pruned as new ones arrive.
RETENTION_DAYS = 400


def record(installation_pk: int, installed_users_count: int, source: str | None) -> None:
    moment = clock.now()
    db.session.add(InstanceMetric(installation_pk=installation_pk, installed_users_count=installed_users_count,
                                  source=source, reported_at=moment))
    db.session.execute(delete(InstanceMetric).where(
        InstanceMetric.installation_pk == installation_pk,
        InstanceMetric.reported_at < moment - timedelta(days=RETENTION_DAYS),
    ))
    db.session.flush()


def latest_installed_users_count(installation_pk: int) -> int | None:
    return db.session.execute(
        select(InstanceMetric.installed_users_count)
        .where(InstanceMetric.installation_pk == installation_pk)
        .order_by(InstanceMetric.reported_at.desc(), InstanceMetric.id.desc())
        .limit(1)
    ).scalar_one_or_none()
