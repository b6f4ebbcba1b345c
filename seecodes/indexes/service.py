"""Querying and upserting project indexes with set-based SQL: a fixed number of statements per request."""
from dataclasses import dataclass

import json

from sqlalchemy import and_, delete, func, select, text, update

from .. import clock
from ..errors import DomainError, Invalid
from ..extensions import db
from .. import sql
from ..settings import DEFAULTS, setting
from .models import ProjectIndex, ProjectIndexEntry

MAX_ITEMS = 5000
# What one request may cost: an entry's text (short + detailed + every name) is bounded on upsert, and a
# query's answer is bounded in total, because one stored entry is copied into the answer once per path
# that matches it (a hash shared by many paths multiplies it).
MAX_ENTRY_CHARS = 32_000
# The answer budget is in bytes as sent: Flask's JSON is ASCII, every other character escaped (6 bytes, 12 for
# one outside the BMP such as an emoji), so its characters are its bytes. Counting the stored characters
# instead let 420 emoji entries answer 91 MB under an 8,000,000 cap. The app's budget is the setting
# SEECODES_INDEX_ANSWER_MAX_CHARS; this is its default, which the OpenAPI document quotes.
MAX_ANSWER_CHARS = DEFAULTS["SEECODES_INDEX_ANSWER_MAX_CHARS"]
ENTRY_OVERHEAD_CHARS = 240  # keys, the 64-digit hash, a 20-digit updatedAt and punctuation of one match (224 measured)
_ANSWER_JSON = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"))  # as Flask's provider writes it
ENTRY_COLUMNS = ("hash", "updated_at_ms", "short", "detailed", "important_symbols", "dependencies", "exports")
_ENTRY_SELECT = (ProjectIndexEntry.path, ProjectIndexEntry.hash, ProjectIndexEntry.updated_at_ms,
                 ProjectIndexEntry.short, ProjectIndexEntry.detailed, ProjectIndexEntry.important_symbols,
                 ProjectIndexEntry.dependencies, ProjectIndexEntry.exports)

PG_UPSERT = text(
    "INSERT INTO project_index_entries (installation_pk, project_id, path, hash, updated_at_ms, short, detailed, "
    "important_symbols, dependencies, exports) "
    "SELECT :installation_pk, :project_id, u.path, u.hash, u.updated_at_ms, u.short, u.detailed, "
    "u.important_symbols::jsonb, u.dependencies::jsonb, u.exports::jsonb "
    "FROM unnest(CAST(:path AS text[]), CAST(:hash AS text[]), CAST(:updated_at_ms AS bigint[]), "
    "CAST(:short AS text[]), CAST(:detailed AS text[]), CAST(:important_symbols AS text[]), "
    "CAST(:dependencies AS text[]), CAST(:exports AS text[])) "
    "AS u(path, hash, updated_at_ms, short, detailed, important_symbols, dependencies, exports) "
    "ON CONFLICT (installation_pk, project_id, path) DO UPDATE SET "
    + ", ".join(f"{name} = EXCLUDED.{name}" for name in ENTRY_COLUMNS)
)


class AnswerTooLarge(DomainError):
    status, code = 413, "answer_too_large"


def entry_chars(entry) -> int:
    """Characters of an entry's text; works on an upsert body (dict) and on a stored row."""
    get = entry.get if isinstance(entry, dict) else lambda name: getattr(entry, name)
    total = len(get("short") or "") + len(get("detailed") or "")
    for name in ("important_symbols", "dependencies", "exports"):
        total += sum(len(item) for item in get(name) or () if isinstance(item, str))
    return total


def answer_bytes(value) -> int:
    """Bytes of a value in the JSON answer (strings with their quotes and escapes)."""
    return len(_ANSWER_JSON.encode(value))


def match_bytes(row, paths: list[str]) -> int:
    """An upper bound of the bytes the row answers under these requested paths: each path is a key of the
    answer, and each copy repeats the entry's text and the row's path (hashMatchedPath)."""
    text = answer_bytes([row.short, row.detailed, row.important_symbols, row.dependencies, row.exports])
    return len(paths) * (text + ENTRY_OVERHEAD_CHARS + answer_bytes(row.path)) + sum(map(answer_bytes, paths))


class _Budget:
    """Counts the answer's bytes as it is built and stops the query as soon as it passes the budget."""

    def __init__(self):
        self.limit = setting("SEECODES_INDEX_ANSWER_MAX_CHARS")
        self.used = 0

    def spend(self, row, paths: list[str]) -> None:
        self.used += match_bytes(row, paths)
        if self.used > self.limit:
            raise AnswerTooLarge(
                f"The matched entries exceed this server's answer budget of {self.limit:,} bytes of JSON; "
                "split items into smaller queries.", maxAnswerChars=self.limit)


@dataclass(frozen=True)
class UpsertResult:
    upserted: int
    deleted: int
    total_files: int
    updated_at: int


def _entry_document(row) -> dict:
    return {
        "hash": row.hash,
        "updatedAt": row.updated_at_ms,
        "short": row.short,
        "detailed": row.detailed,
        "important_symbols": row.important_symbols,
        "dependencies": row.dependencies,
        "exports": row.exports,
    }


def _scope(installation_pk: int, project_id: str):
    return and_(ProjectIndexEntry.installation_pk == installation_pk, ProjectIndexEntry.project_id == project_id)


def index_updated_at(installation_pk: int, project_id: str) -> int:
    """Epoch ms of the index's last change; 0 for a project that never had an index."""
    value = db.session.execute(select(ProjectIndex.updated_at_ms).where(
        ProjectIndex.installation_pk == installation_pk, ProjectIndex.project_id == project_id)).scalar_one_or_none()
    return value or 0


def query(installation_pk: int, project_id: str, items: list[tuple[str, str]]) -> tuple[int, dict]:
    """Match (path, hash) items: same path and hash first, else the smallest path holding the hash."""
    wanted = dict(items)
    if len(wanted) != len(items):
        raise Invalid("Each path may appear once in items.", errors={"items": ["Duplicate path."]})
    scope = _scope(installation_pk, project_id)
    budget = _Budget()
    matches = {}
    paths = list(wanted)
    for chunk in sql.chunks(paths):
        for row in db.session.execute(select(*_ENTRY_SELECT).where(scope, ProjectIndexEntry.path.in_(chunk))):
            if row.hash == wanted[row.path]:
                budget.spend(row, [row.path])
                matches[row.path] = {"pathMatched": True, "hashMatchedPath": row.path, "entry": _entry_document(row)}
    by_hash: dict[str, list[str]] = {}
    for path, digest in wanted.items():
        if path not in matches:
            by_hash.setdefault(digest, []).append(path)
    hashes = list(by_hash)
    for chunk in sql.chunks(hashes):
        # Several paths may hold one hash (copies, empty files): the smallest path in byte order wins.
        first = (select(ProjectIndexEntry.hash, func.min(ProjectIndexEntry.path).label("path"))
                 .where(scope, ProjectIndexEntry.hash.in_(chunk))
                 .group_by(ProjectIndexEntry.hash).subquery())
        rows = db.session.execute(select(*_ENTRY_SELECT).join(
            first, and_(ProjectIndexEntry.hash == first.c.hash, ProjectIndexEntry.path == first.c.path)).where(scope))
        for row in rows:
            budget.spend(row, by_hash[row.hash])
            entry = _entry_document(row)
            for path in by_hash[row.hash]:
                matches[path] = {"pathMatched": False, "hashMatchedPath": row.path, "entry": entry}
    return index_updated_at(installation_pk, project_id), matches


def _lock_project(installation_pk: int, project_id: str) -> ProjectIndex:
    """Create the project's row if needed and lock it: concurrent upserts of one project run one at a time,
    which keeps total_files exact without counting the whole index."""
    db.session.execute(sql.insert(ProjectIndex).values(
        installation_pk=installation_pk, project_id=project_id, total_files=0, updated_at_ms=0,
    ).on_conflict_do_nothing(index_elements=["installation_pk", "project_id"]))
    return db.session.execute(
        select(ProjectIndex.id, ProjectIndex.total_files, ProjectIndex.updated_at_ms)
        .where(ProjectIndex.installation_pk == installation_pk, ProjectIndex.project_id == project_id)
        .with_for_update()
    ).one()


def _write_entries(rows: list[dict]) -> None:
    """One bulk INSERT … ON CONFLICT DO UPDATE: on PostgreSQL from unnest()ed column arrays (a dozen
    parameters whatever the batch size), on SQLite as executemany of one cached statement."""
    if sql.dialect_name() == "postgresql":
        db.session.execute(PG_UPSERT, {
            "installation_pk": rows[0]["installation_pk"],
            "project_id": rows[0]["project_id"],
            **{name: [row[name] for row in rows] for name in ("path",) + ENTRY_COLUMNS[:4]},
            **{name: [json.dumps(row[name]) for row in rows] for name in ENTRY_COLUMNS[4:]},
        })
        return
    statement = sql.insert(ProjectIndexEntry)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["installation_pk", "project_id", "path"],
        set_={name: statement.excluded[name] for name in ENTRY_COLUMNS},
    ), rows)


def upsert(installation_pk: int, project_id: str, entries: dict[str, dict], delete_paths: list[str]) -> UpsertResult:
    """Apply entries and deletePaths in the caller's transaction (the guard commits or rolls back both)."""
    delete_paths = list(dict.fromkeys(delete_paths))
    both = sorted(set(entries) & set(delete_paths))
    if both:
        raise Invalid("A path cannot be both upserted and deleted.", errors={"deletePaths": both[:20]})
    project = _lock_project(installation_pk, project_id)
    scope = _scope(installation_pk, project_id)
    now_ms = clock.epoch_ms(clock.now())
    paths = list(entries)
    existing = 0
    for chunk in sql.chunks(paths):
        existing += db.session.execute(
            select(func.count()).select_from(ProjectIndexEntry).where(scope, ProjectIndexEntry.path.in_(chunk))
        ).scalar_one()
    rows = [
        {
            "installation_pk": installation_pk,
            "project_id": project_id,
            "path": path,
            "hash": entry["hash"],
            "updated_at_ms": entry.get("updatedAt") if entry.get("updatedAt") is not None else now_ms,
            "short": entry.get("short"),
            "detailed": entry.get("detailed"),
            "important_symbols": entry.get("important_symbols") or [],
            "dependencies": entry.get("dependencies") or [],
            "exports": entry.get("exports") or [],
        }
        for path, entry in entries.items()
    ]
    if rows:
        _write_entries(rows)
    deleted = 0
    for chunk in sql.chunks(delete_paths):
        deleted += db.session.execute(
            delete(ProjectIndexEntry).where(scope, ProjectIndexEntry.path.in_(chunk))
            .execution_options(synchronize_session=False)
        ).rowcount
    total = project.total_files + (len(rows) - existing) - deleted
    updated_at = project.updated_at_ms
    if rows or deleted:
        # Strictly increasing, so a client can treat updatedAt as the index's version.
        updated_at = max(now_ms, project.updated_at_ms + 1)
        db.session.execute(update(ProjectIndex).where(ProjectIndex.id == project.id)
                           .values(total_files=total, updated_at_ms=updated_at))
    return UpsertResult(len(rows), deleted, total, updated_at)
