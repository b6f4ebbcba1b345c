"""Storing and reading task context."""
import json

from flask import current_app
from sqlalchemy import select

from ..errors import DomainError, NotFound
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


class ContextTooLarge(DomainError):
    status, code = 413, "payload_too_large"


def answer_bytes(context, initial_tai) -> int:
    """Bytes of the two documents in GET /v1/tasks/context's answer: Flask's JSON escapes each non-ASCII
    character (an emoji sent as 4 bytes of UTF-8 is answered as 12), so a body can triple when served back."""
    return len(json.dumps([context, initial_tai], ensure_ascii=True, separators=(",", ":")))


def store(installation_pk: int, project_id: str, task_id: str, context, initial_tai) -> None:
    """Keep the latest context; a link minted without one leaves the stored document as it was. What is kept
    must answer within the request body limit (SEECODES_MAX_BODY_BYTES), as it will be served back."""
    if context is None and initial_tai is None:
        return
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    if limit is not None and answer_bytes(context, initial_tai) > limit:
        raise ContextTooLarge(f"jiraContext and initialTaiDoc together would be answered as more than {limit:,} "
                              "bytes of JSON (each non-ASCII character is escaped, up to 12 bytes): send less.")
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
