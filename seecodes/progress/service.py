"""Storing and reading the progress document of a task."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from .. import clock
from ..extensions import db
from .. import sql
from .models import TaskProgress

FIELDS = ("ready", "left", "progress", "confidence", "risks", "logs")


@dataclass(frozen=True)
class Progress:
    document: dict
    updated_at: datetime


def save(installation_pk: int, project_id: str, task_id: str, document: dict, user_account_id: str | None) -> None:
    """Replace the task's document; one statement, so concurrent saves cannot collide on the unique key."""
    moment = clock.now()
    values = {"document": {name: document.get(name) for name in FIELDS}, "updated_by": user_account_id,
              "updated_at": moment}
    statement = sql.insert(TaskProgress).values(installation_pk=installation_pk, project_id=project_id,
                                                task_id=task_id, **values)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["installation_pk", "project_id", "task_id"], set_=values))


def read(installation_pk: int, project_id: str, task_id: str) -> Progress | None:
    row = db.session.execute(
        select(TaskProgress.document, TaskProgress.updated_at).where(
            TaskProgress.installation_pk == installation_pk,
            TaskProgress.project_id == project_id,
            TaskProgress.task_id == task_id,
        )
    ).one_or_none()
    return None if row is None else Progress(row.document, row.updated_at)
