"""Storing and reading task context."""
from sqlalchemy import select

from ..errors import NotFound
from ..extensions import db
from .models import TaskContext


def _find(installation_pk: int, project_id: str, task_id: str) -> TaskContext | None:
    return db.session.execute(
        select(TaskContext).where(
            TaskContext.installation_pk == installation_pk,
            TaskContext.project_id == project_id,
            TaskContext.task_id == task_id,
        )
    ).scalar_one_or_none()


def store(installation_pk: int, project_id: str, task_id: str, context, initial_tai) -> None:
    """Keep the latest context; a link minted without one leaves the stored document as it was."""
    if context is None and initial_tai is None:
        return
    row = _find(installation_pk, project_id, task_id)
    if row is None:
        row = TaskContext(installation_pk=installation_pk, project_id=project_id, task_id=task_id)
        db.session.add(row)
    if context is not None:
        row.context = context
    if initial_tai is not None:
        row.initial_tai = initial_tai
    db.session.flush()


def read(installation_pk: int, project_id: str, task_id: str) -> TaskContext:
    row = _find(installation_pk, project_id, task_id)
    if row is None or row.context is None and row.initial_tai is None:
        raise NotFound("No Jira-side context was stored with this task.", code="Context not found")
    return row
