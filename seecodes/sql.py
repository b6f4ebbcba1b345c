"""Dialect-aware INSERT … ON CONFLICT and parameter chunking, shared by every package that bulk-writes."""
from collections.abc import Iterator, Sequence

from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db

# SQLite (3.32+) binds at most 32,766 variables per statement; PostgreSQL 65,535. Stay well below both.
MAX_BIND_PARAMS = 30_000


def dialect_name() -> str:
    return db.session.get_bind().dialect.name


def insert(table):
    """An INSERT that supports on_conflict_do_update / on_conflict_do_nothing on either backend."""
    return postgresql.insert(table) if dialect_name() == "postgresql" else sqlite.insert(table)


def chunks(values: Sequence, params_per_value: int = 1) -> Iterator[Sequence]:
    size = max(1, MAX_BIND_PARAMS // max(1, params_per_value))
    for start in range(0, len(values), size):
        yield values[start:start + size]
