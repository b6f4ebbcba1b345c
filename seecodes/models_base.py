"""Column helpers shared by every model module."""
from sqlalchemy import JSON, BigInteger, Integer
from sqlalchemy.dialects import postgresql

from . import clock

# JSONB on PostgreSQL, JSON text on SQLite.
JSONType = JSON().with_variant(postgresql.JSONB(), "postgresql")
# SQLite only auto-increments INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


def utcnow():
    """Column default: evaluated per row, never at import."""
    return clock.now()
