"""Idempotency-Key on the run writes, as Stripe's API has it: the same key with the same request within 24 hours
answers the first answer again (without doing the work twice); the same key with another request is a 422.

The key's row is written first, in the request's own transaction (the guard's), so two requests racing with one
key serialise on its unique index: the second waits for the first to commit, then replays its answer. Only a
successful answer is kept: a refused request (4xx, 5xx) rolls back with its row, so it may simply be retried.
"""
import hashlib
import json
import re
from datetime import timedelta
from functools import wraps

from flask import Response, make_response, request
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..apidoc import declare
from ..errors import Conflict, Invalid
from ..extensions import db
from ..permits.service import Binding
from .models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
LIFETIME = timedelta(hours=24)
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")  # printable ASCII, as Stripe's (UUIDs, ULIDs, …)
TABLE = IdempotentRequest.__table__
ERRORS = {409: ["idempotency_key_in_use"], 422: ["idempotency_key_invalid", "idempotency_key_reused"]}


def checked_key(value: str) -> str:
    if not KEY_PATTERN.fullmatch(value):
        raise Invalid(f"{HEADER} must be 1-255 printable ASCII characters.",
                      code="idempotency_key_invalid", errors={HEADER: ["Invalid key."]})
    return value


def fingerprint(method: str, path: str, binding: Binding, body) -> str:
    """What makes two requests "the same": method, path, the permit's binding and the body as canonical JSON
    (key order and white space do not matter)."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    material = "\n".join([method, path, binding.project_id, binding.task_id, canonical])
    return hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()


def _stored(installation_pk: int, key: str):
    return db.session.execute(select(TABLE).where(TABLE.c.installation_pk == installation_pk,
                                                  TABLE.c.key == key)).first()


def _replay(row, fingerprint_: str) -> Response:
    if row.fingerprint != fingerprint_:
        raise Invalid(f"This {HEADER} was used with another request; use a new key for a new request.",
                      code="idempotency_key_reused", errors={HEADER: ["Used with another request."]})
    if row.status_code is None:  # only visible to ourselves: cannot happen outside the first request
        raise Conflict("A request with this Idempotency-Key is still being answered; retry shortly.",
                       code="idempotency_key_in_use")
    return Response(row.body, status=row.status_code, content_type=row.content_type,
                    headers={REPLAYED_HEADER: "true"})


def begin(installation_pk: int, key: str, fingerprint_: str) -> Response | None:
    """The stored answer to replay, or None after staging this request's row (the caller then does the work)."""
    moment = clock.now()
    row = _stored(installation_pk, key)
    if row is not None and row.expires_at > moment:
        return _replay(row, fingerprint_)
    if row is not None:  # a key older than a day is a new key
        db.session.execute(delete(TABLE).where(TABLE.c.id == row.id))
    try:
        # No savepoint: this is the request's first write (the permit check only read), and on SQLite a
        # savepoint outside a transaction would commit on its own.
        db.session.execute(insert(TABLE).values(installation_pk=installation_pk, key=key, fingerprint=fingerprint_,
                                                created_at=moment, expires_at=moment + LIFETIME))
    except IntegrityError:
        # A concurrent request with this key committed first (its insert held ours until then): start afresh
        # (nothing of ours is written yet) and answer what it answered.
        db.session.rollback()
        row = _stored(installation_pk, key)
        if row is None:
            raise Conflict("A request with this Idempotency-Key is still being answered; retry shortly.",
                           code="idempotency_key_in_use")
        return _replay(row, fingerprint_)
    return None


def finish(installation_pk: int, key: str, response: Response) -> None:
    """Keep a successful answer with the key's row (committed with the request's work by the guard)."""
    if response.status_code >= 400:
        return  # the guard rolls back the row with the work
    db.session.execute(update(TABLE).where(TABLE.c.installation_pk == installation_pk, TABLE.c.key == key).values(
        status_code=response.status_code, body=response.get_data(as_text=True),
        content_type=response.content_type))


def idempotent(view):
    """For a permit route that writes (under @task_permit, which owns the transaction): honour Idempotency-Key."""

    @wraps(view)
    def wrapper(*args, permit: Binding, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, permit=permit, **kwargs)
        checked_key(key)
        body = request.get_json(silent=True) if request.content_length else None
        replay = begin(permit.installation_pk, key, fingerprint(request.method, request.path, permit, body))
        if replay is not None:
            return replay
        response = make_response(view(*args, permit=permit, **kwargs))
        finish(permit.installation_pk, key, response)
        return response

    return declare(wrapper, ERRORS)


def prune(now) -> int:
    """Delete keys older than their lifetime (maintenance prune)."""
    return db.session.execute(delete(TABLE).where(TABLE.c.expires_at <= now)).rowcount or 0
