"""Request key life cycle: bootstrap a chain, consume the current key, hand out the next.

Consumption is one conditional UPDATE (``WHERE consumed_at IS NULL ...``, written once in consume()): under
concurrency the database lets exactly one transaction match the row, the others see it consumed and lose.
Nothing here commits: the Jira guard commits the request's one transaction (auth/guards.py).
"""
import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from flask import current_app
from sqlalchemy import DateTime, bindparam, insert, select, text, update

from .. import clock, ids, sql
from ..audit import service as audit
from ..errors import Conflict, Unauthorized
from ..extensions import db
from ..installations.models import Installation
from ..installations.snapshot import COLUMNS, NAMES, InstallationSnapshot
from ..settings import setting
from .models import RequestKey

PREFIX = "sc_jira_req_"
# Chains started without a sessionId get a generated id; "~" is outside the sessionId alphabet, so a
# generated chain can never be resumed (or collided with) by a client-chosen sessionId.
GENERATED_CHAIN_PREFIX = "~"
KEYS = RequestKey.__table__
INSTALLATIONS = Installation.__table__
# The one-live-key-per-chain index (models.RequestKey): what a rotation and a bootstrap may not both insert.
LIVE_CHAIN = ["installation_pk", "principal", "session_id"]
LIVE = text("consumed_at IS NULL AND superseded_at IS NULL")
_STATEMENTS = None  # consume()'s statements, built on first use (_statements)


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


def _next_key(moment: datetime) -> tuple[IssuedKey, str]:
    """A new key of a chain and its stored digest."""
    key = ids.new_secret(PREFIX)
    return IssuedKey(key, moment + _ttl()), ids.hash_secret(key)


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
    """Stage a fresh current key for the chain in the caller's transaction (the previous live key of a resumed
    session stops working), then supersede the user's chains beyond the cap.

    A key rotated into the session's chain by a concurrent request can take the live slot between the
    supersession and the insert; the insert then does nothing (ON CONFLICT on the one-live-key index, after
    PostgreSQL waited for that request's commit) and the supersession runs again, now seeing it. No rollback:
    the transaction is the request's, with what it staged before.
    """
    resumed = not chain.session_id.startswith(GENERATED_CHAIN_PREFIX)
    for _attempt in range(5):
        _lock_user(chain)
        moment = clock.now()
        if resumed:
            db.session.execute(
                update(KEYS)
                .where(
                    KEYS.c.installation_pk == chain.installation_pk,
                    KEYS.c.principal == chain.principal,
                    KEYS.c.session_id == chain.session_id,
                    KEYS.c.consumed_at.is_(None),
                    KEYS.c.superseded_at.is_(None),
                )
                .values(superseded_at=moment)
            )
        issued, key_hash = _next_key(moment)
        inserted = db.session.execute(
            sql.insert(KEYS).values(key_hash=key_hash, installation_pk=chain.installation_pk,
                                    principal=chain.principal, session_id=chain.session_id, created_at=moment,
                                    expires_at=issued.expires_at)
            .on_conflict_do_nothing(index_elements=LIVE_CHAIN, index_where=LIVE)
            .returning(KEYS.c.id)
        ).scalar_one_or_none()
        if inserted is not None:
            _supersede_beyond_cap(chain, moment)
            return issued
    raise Conflict("The request-key chain is being bootstrapped concurrently; retry.", code="request_key_conflict")


@dataclass(frozen=True)
class Consumed:
    next_key: IssuedKey
    installation: InstallationSnapshot  # as the consuming statement read it


def _well_formed(presented: str) -> bool:
    return bool(presented) and presented.startswith(PREFIX) and len(presented) <= 200


def _current_key(presented_hash, installation_ari, principal, now):
    """The one rule of a usable key: the chain's current key (unconsumed, not superseded nor revoked, unexpired)
    of the installation named by the token's ARI and of the token's principal."""
    return (KEYS.c.key_hash == presented_hash, KEYS.c.installation_pk == INSTALLATIONS.c.id,
            INSTALLATIONS.c.installation_id == installation_ari, KEYS.c.principal == principal,
            KEYS.c.consumed_at.is_(None), KEYS.c.superseded_at.is_(None), KEYS.c.expires_at > now)


def _statements() -> dict:
    """Built once per process. Bind names differ from column names: in an UPDATE, SQLAlchemy would take a
    same-named bind for a SET value."""
    global _STATEMENTS
    if _STATEMENTS is None:
        now = bindparam("now", type_=DateTime())
        consume = (update(KEYS).where(*_current_key(bindparam("presented_hash"), bindparam("installation_ari"),
                                                    bindparam("chain_principal"), now))
                   .values(consumed_at=now))
        next_key = {"key_hash": bindparam("next_hash"), "principal": bindparam("chain_principal"),
                    "created_at": now, "expires_at": bindparam("next_expires_at", type_=DateTime())}
        # PostgreSQL: one statement. A data-modifying CTE consumes the key and answers the installation's row
        # (UPDATE … FROM), the next key is inserted from it, and a data-modifying CTE runs whether or not the
        # outer SELECT reads it.
        consumed = consume.returning(KEYS.c.session_id, *COLUMNS).cte("consumed")
        inserted = insert(KEYS).from_select(
            [*next_key, "installation_pk", "session_id"],
            select(*next_key.values(), consumed.c.id, consumed.c.session_id),
        ).cte("inserted")
        _STATEMENTS = {
            "postgresql": select(*(consumed.c[name] for name in NAMES)).add_cte(inserted),
            # SQLite has no data-modifying CTE and returns only the updated table's columns: three statements.
            "consume": consume.returning(KEYS.c.installation_pk, KEYS.c.session_id),
            "insert": insert(KEYS).values(**next_key, installation_pk=bindparam("consumed_installation"),
                                          session_id=bindparam("consumed_session")),
            "installation": select(*COLUMNS).where(INSTALLATIONS.c.id == bindparam("consumed_installation")),
        }
    return _STATEMENTS


def consume(presented: str, installation_ari: str, principal: str) -> Consumed | None:
    """Consume the presented key if it is the current key of the chain of (the installation named by the token's
    ARI, the token's principal), and stage the chain's next key, in the caller's transaction (the guard commits
    both with the route's work, or rolls both back). Answers the next key and the installation as the consuming
    statement read it; None when nothing matched, a malformed key included: the caller then resolves the
    installation (its own refusals come first) and refuse() says why.

    One rule (_current_key) on both databases; the round trips differ. PostgreSQL: one statement, the Jira
    routes' benchmark target (docs/benchmarks.md). SQLite: the UPDATE … RETURNING, the INSERT, the installation's
    SELECT. Under concurrency the database lets exactly one transaction match the key's row.
    """
    if not _well_formed(presented):
        return None
    moment = clock.now()
    issued, next_hash = _next_key(moment)
    params = {"presented_hash": ids.hash_secret(presented), "installation_ari": installation_ari,
              "chain_principal": principal, "now": moment, "next_hash": next_hash,
              "next_expires_at": issued.expires_at}
    statements = _statements()
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        row = connection.execute(statements["postgresql"], params).one_or_none()
        return None if row is None else Consumed(issued, InstallationSnapshot(*row))
    consumed = connection.execute(statements["consume"], params).one_or_none()
    if consumed is None:
        return None
    chain = {"consumed_installation": consumed.installation_pk, "consumed_session": consumed.session_id}
    connection.execute(statements["insert"], {**params, **chain})
    return Consumed(issued, InstallationSnapshot(*connection.execute(statements["installation"], chain).one()))


def refuse(presented: str, installation_pk: int, principal: str) -> NoReturn:
    """Why consume() matched nothing, as the 401 the client gets; a misuse is recorded as a security event."""
    if not _well_formed(presented):
        raise Unauthorized("X-SeeCodes-Jira-Request-Key is missing or malformed.", code="request_key_missing")
    _refuse(ids.hash_secret(presented), installation_pk, principal, clock.now())


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
