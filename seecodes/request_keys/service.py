"""Request key life cycle: bootstrap a chain, consume the current key, hand out the next.

Consumption is one conditional UPDATE (``WHERE consumed_at IS NULL ...``): under concurrency the
database lets exactly one transaction match the row, the others see it consumed and lose.
"""
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import DateTime, bindparam, insert, literal, select, text, update
from sqlalchemy.exc import IntegrityError

from .. import clock, ids
from ..audit import service as audit
from ..errors import Conflict, Unauthorized
from ..extensions import db
from ..installations.models import Installation
from ..settings import setting
from .models import RequestKey

PREFIX = "sc_jira_req_"
# Chains started without a sessionId get a generated id; "~" is outside the sessionId alphabet, so a
# generated chain can never be resumed (or collided with) by a client-chosen sessionId.
GENERATED_CHAIN_PREFIX = "~"


@dataclass(frozen=True)
class Chain:
    installation_pk: int
    principal: str
    session_id: str


@dataclass(frozen=True)
class IssuedKey:
    key: str
    expires_at: datetime


def chain_for(installation_pk: int, principal: str, session_id: str | None) -> Chain:
    """A sessionId names a chain the client resumes; without one, a new independent chain."""
    return Chain(installation_pk, principal, session_id or ids.new_id(GENERATED_CHAIN_PREFIX, 16))


def max_chains() -> int:
    """Live chains kept per (installation, principal) (settings: SEECODES_REQUEST_KEY_MAX_CHAINS)."""
    return max(1, setting("SEECODES_REQUEST_KEY_MAX_CHAINS"))


def _ttl() -> timedelta:
    return timedelta(seconds=current_app.config["SEECODES_REQUEST_KEY_TTL_SECONDS"])


def _insert_key(chain: Chain, moment: datetime) -> IssuedKey:
    key = ids.new_secret(PREFIX)
    expires_at = moment + _ttl()
    db.session.execute(
        insert(RequestKey).values(
            key_hash=ids.hash_secret(key),
            installation_pk=chain.installation_pk,
            principal=chain.principal,
            session_id=chain.session_id,
            created_at=moment,
            expires_at=expires_at,
        )
    )
    return IssuedKey(key, expires_at)


def _lock_user(chain: Chain) -> None:
    """Serialize the bootstraps of one (installation, principal) on PostgreSQL (SQLite serializes writers).

    Without it, parallel bootstraps of one session would race for its single live slot, and parallel
    bootstraps of new chains could each count the live chains before the others' inserts and leave
    more than the cap alive.
    """
    if db.session.get_bind().dialect.name != "postgresql":
        return
    digest = hashlib.sha256(f"request-key-chains:{chain.installation_pk}:{chain.principal}".encode("utf-8")).digest()
    db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                       {"key": int.from_bytes(digest[:8], "big", signed=True)})


def _supersede_beyond_cap(chain: Chain, moment: datetime) -> None:
    """Keep the newest live keys of the user; a chain's live key is renewed on every use, so the chains
    superseded here are the least recently used ones."""
    live = (
        select(RequestKey.id)
        .where(
            RequestKey.installation_pk == chain.installation_pk,
            RequestKey.principal == chain.principal,
            RequestKey.consumed_at.is_(None),
            RequestKey.superseded_at.is_(None),
            RequestKey.expires_at > moment,
        )
        .order_by(RequestKey.id.desc())
        .offset(max_chains())
    )
    db.session.execute(
        update(RequestKey).where(RequestKey.id.in_(live)).values(superseded_at=moment)
        .execution_options(synchronize_session=False)
    )


def bootstrap(chain: Chain) -> IssuedKey:
    """Make a fresh current key for the chain (the previous live key of a resumed session stops
    working), then supersede the user's chains beyond the cap. Commits."""
    resumed = not chain.session_id.startswith(GENERATED_CHAIN_PREFIX)
    for _attempt in range(5):
        try:
            _lock_user(chain)
            moment = clock.now()
            if resumed:
                db.session.execute(
                    update(RequestKey)
                    .where(
                        RequestKey.installation_pk == chain.installation_pk,
                        RequestKey.principal == chain.principal,
                        RequestKey.session_id == chain.session_id,
                        RequestKey.consumed_at.is_(None),
                        RequestKey.superseded_at.is_(None),
                    )
                    .values(superseded_at=moment)
                )
            issued = _insert_key(chain, moment)
            db.session.flush()
            _supersede_beyond_cap(chain, moment)
            db.session.commit()
            return issued
        except IntegrityError:  # a key rotated in by a concurrent request took the live slot; go again
            db.session.rollback()
    raise Conflict("The request-key chain is being bootstrapped concurrently; retry.", code="request_key_conflict")


def consume(presented: str, installation_pk: int, principal: str) -> IssuedKey:
    """Consume the presented key and stage the chain's next key, both in the caller's transaction.

    Nothing is committed here: the guard commits together with the route's own work.
    """
    if not presented or not presented.startswith(PREFIX) or len(presented) > 200:
        raise Unauthorized("X-SeeCodes-Jira-Request-Key is missing or malformed.", code="request_key_missing")
    key_hash = ids.hash_secret(presented)
    moment = clock.now()
    consume_current = (
        update(RequestKey)
        .where(
            RequestKey.key_hash == key_hash,
            RequestKey.installation_pk == installation_pk,
            RequestKey.principal == principal,
            RequestKey.consumed_at.is_(None),
            RequestKey.superseded_at.is_(None),
            RequestKey.expires_at > moment,
        )
        .values(consumed_at=moment)
        .returning(RequestKey.session_id)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        return _consume_and_rotate(consume_current, key_hash, installation_pk, principal, moment)
    session_id = db.session.execute(consume_current).scalar_one_or_none()
    if session_id is None:
        _refuse(key_hash, installation_pk, principal, moment)
    return _insert_key(Chain(installation_pk, principal, session_id), moment)


def _consume_and_rotate(consume_current, key_hash: str, installation_pk: int, principal: str,
                        moment: datetime) -> IssuedKey:
    """PostgreSQL: consume and insert the next key in one statement (a data-modifying CTE), one round trip."""
    consumed = consume_current.cte("consumed")
    key = ids.new_secret(PREFIX)
    expires_at = moment + _ttl()
    columns = ["key_hash", "installation_pk", "principal", "session_id", "created_at", "expires_at"]
    source = select(literal(ids.hash_secret(key)), literal(installation_pk), literal(principal),
                    consumed.c.session_id, literal(moment, DateTime()), literal(expires_at, DateTime()))
    inserted = db.session.execute(
        insert(RequestKey).from_select(columns, source).returning(RequestKey.id)
    ).scalar_one_or_none()
    if inserted is None:
        _refuse(key_hash, installation_pk, principal, moment)
    return IssuedKey(key, expires_at)


KEYS = RequestKey.__table__
INSTALLATIONS = Installation.__table__
_CONSUME_WITH_INSTALLATION = None


def _consume_with_installation_statement():
    """Built once per process (bind names differ from column names: in an UPDATE, SQLAlchemy would take a
    same-named bind for a SET value): consume the key of the token's installation (found by its ARI), insert the
    chain's next key, and answer the installation's row; one statement, one round trip."""
    global _CONSUME_WITH_INSTALLATION
    if _CONSUME_WITH_INSTALLATION is None:
        now = bindparam("now", type_=DateTime())
        consumed = (
            update(KEYS)
            .where(
                KEYS.c.key_hash == bindparam("presented_hash"),
                KEYS.c.installation_pk == INSTALLATIONS.c.id,
                INSTALLATIONS.c.installation_id == bindparam("installation_ari"),
                KEYS.c.principal == bindparam("chain_principal"),
                KEYS.c.consumed_at.is_(None),
                KEYS.c.superseded_at.is_(None),
                KEYS.c.expires_at > now,
            )
            .values(consumed_at=now)
            .returning(KEYS.c.session_id, *INSTALLATIONS.c)
            .cte("consumed")
        )
        inserted = insert(KEYS).from_select(
            ["key_hash", "installation_pk", "principal", "session_id", "created_at", "expires_at"],
            select(bindparam("next_hash"), consumed.c.id, bindparam("chain_principal"), consumed.c.session_id, now,
                   bindparam("next_expires_at", type_=DateTime())),
        ).cte("inserted")
        # A data-modifying CTE runs whether or not the outer SELECT reads it.
        _CONSUME_WITH_INSTALLATION = select(*(consumed.c[c.name] for c in INSTALLATIONS.c)).add_cte(inserted)
    return _CONSUME_WITH_INSTALLATION


def consume_with_installation(presented: str, installation_id: str, principal: str):
    """PostgreSQL fast path of the Jira guard: consume() for the installation named by its ARI, answering
    (next key, the installation's row) from the same statement, in the caller's transaction.

    None when nothing matched, the key is malformed, or on SQLite: the caller then resolves the installation
    (provisioning it if new) and calls consume(), which refuses with the precise reason.
    """
    if not presented or not presented.startswith(PREFIX) or len(presented) > 200 \
            or db.session.get_bind().dialect.name != "postgresql":
        return None
    moment = clock.now()
    key = ids.new_secret(PREFIX)
    expires_at = moment + _ttl()
    row = db.session.connection().execute(_consume_with_installation_statement(), {
        "presented_hash": ids.hash_secret(presented), "installation_ari": installation_id,
        "chain_principal": principal,
        "now": moment, "next_hash": ids.hash_secret(key), "next_expires_at": expires_at,
    }).one_or_none()
    if row is None:
        return None
    return IssuedKey(key, expires_at), row


def revoke_chains(installation_pk: int, moment: datetime, principal: str | None = None) -> int:
    """Revoke the live key of every chain of the installation (or of one user) with one UPDATE in the caller's
    transaction; answers how many chains. Revoked keys are superseded too, so nothing consumes them and the
    one-live-key index (which this UPDATE walks) stays as it is; a new chain needs a new bootstrap, which a
    still valid Forge token of an active installation may do."""
    conditions = [RequestKey.installation_pk == installation_pk, RequestKey.consumed_at.is_(None),
                  RequestKey.superseded_at.is_(None)]
    if principal is not None:
        conditions.append(RequestKey.principal == principal)
    return db.session.execute(
        update(RequestKey).where(*conditions).values(superseded_at=moment, revoked_at=moment)
        .execution_options(synchronize_session=False)
    ).rowcount


def _refuse(key_hash: str, installation_pk: int, principal: str, moment: datetime):
    """Explain why a key did not match, and record the misuse as a security event (see classify_reuse)."""
    db.session.rollback()
    row = db.session.execute(select(RequestKey).where(RequestKey.key_hash == key_hash)).scalar_one_or_none()
    if row is None:
        raise Unauthorized("Unknown Jira request key; bootstrap with POST /v1/jira/request-key.",
                           code="request_key_unknown")
    if row.installation_pk != installation_pk or row.principal != principal:
        audit.record("request_key_foreign", installation_pk, key_owner=row.installation_pk)
        raise Unauthorized("This request key belongs to another tenant or user.", code="request_key_unknown")
    if row.revoked_at is not None:
        audit.record("request_key_revoked_used", installation_pk, key_id=row.id, chain=_chain_label(row.session_id))
        raise Unauthorized("This request key was revoked by an operator or an uninstall; bootstrap again.",
                           code="request_key_revoked")
    if row.consumed_at is not None:
        audit.record(classify_reuse(row), installation_pk, key_id=row.id, chain=_chain_label(row.session_id))
        raise Unauthorized("This request key was already used; bootstrap again.", code="request_key_replayed")
    if row.superseded_at is not None:
        audit.record("request_key_superseded", installation_pk, key_id=row.id, chain=_chain_label(row.session_id))
        raise Unauthorized("This request key was replaced by a newer one; bootstrap again.",
                           code="request_key_replayed")
    raise Unauthorized("This request key has expired; bootstrap again.", code="request_key_expired")


def classify_reuse(row: RequestKey) -> str:
    """``request_key_retried`` or ``request_key_replayed`` for a consumed key presented again.

    A client whose response was lost (timeout, proxy drop) or that sent two requests with one key
    presents a consumed key while its chain has not moved on: nobody has used a later key of the chain.
    Once a later key of the chain was used, the legitimate holder has moved past this key, so presenting
    it again is someone else replaying a captured key.
    """
    moved_on = db.session.execute(
        select(RequestKey.id)
        .where(
            RequestKey.installation_pk == row.installation_pk,
            RequestKey.principal == row.principal,
            RequestKey.session_id == row.session_id,
            RequestKey.id > row.id,
            RequestKey.consumed_at.is_not(None),
        )
        .limit(1)
    ).first()
    return "request_key_replayed" if moved_on else "request_key_retried"


def _chain_label(session_id: str) -> str:
    """What the event records of the chain: the client's sessionId, or "generated"."""
    return "generated" if session_id.startswith(GENERATED_CHAIN_PREFIX) else session_id
