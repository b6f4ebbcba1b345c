"""Sliding-window rate limits, counted where every process sees them: Redis when configured, else the database.

A window holds the attempts let through in the last ``window`` seconds (refused ones are not stored, so
a client that keeps knocking stores nothing more). Unlike fixed windows, no boundary lets a burst of
twice the limit through. When Redis is down the count moves to the database for the outage instead of
refusing every attempt.
"""
import hashlib
import logging
import math
import random
import secrets
import time

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import delete, func, insert, select, text

from . import clock
from .errors import RateLimited
from .extensions import db
from .models_base import BigIntPK

log = logging.getLogger(__name__)

# After a Redis failure, this process counts in the database for this many seconds before trying Redis again.
REDIS_RETRY_SECONDS = 5
# Expired rows of other subjects are swept by one attempt in this many.
SWEEP_ONE_IN = 100

_redis_down_until = 0.0


class RateLimitHit(db.Model):
    """One attempt let through, kept until its window has passed."""

    __tablename__ = "rate_limit_hits"
    __table_args__ = (db.Index("ix_rate_limit_hits_subject_expires", "subject", "expires_at"),)

    id = db.Column(BigIntPK, primary_key=True)
    subject = db.Column(db.String(255), nullable=False)
    expires_at = db.Column(db.Float, nullable=False)  # epoch seconds


# Atomic in Redis: drop expired hits, refuse at the limit (answering when the oldest expires), else add one.
_REDIS_SCRIPT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  return redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]
end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return false
"""


def _subject(scope: str, subject: str) -> str:
    key = f"{scope}:{subject}"
    return key if len(key) <= 200 else f"{scope}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _hit_redis(connection, key: str, limit: int, window: int, now: float) -> float | None:
    script = connection.register_script(_REDIS_SCRIPT)
    oldest = script(keys=[f"seecodes:rl:{key}"], args=[repr(now), window, limit, secrets.token_hex(8)])
    return None if oldest is None else float(oldest)


def _hit_database(key: str, limit: int, window: int, now: float) -> float | None:
    """Count in a transaction of its own, apart from the request's (this runs before the route's work): an
    attempt counts whether the request then succeeds or is refused and rolled back."""
    hits = RateLimitHit.__table__
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            digest = hashlib.sha256(f"rate-limit:{key}".encode()).digest()
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                               {"key": int.from_bytes(digest[:8], "big", signed=True)})
        # A write first: on SQLite it takes the database's write lock, which serializes the count below.
        connection.execute(delete(hits).where(hits.c.subject == key, hits.c.expires_at <= now))
        live, oldest = connection.execute(
            select(func.count(), func.min(hits.c.expires_at)).where(hits.c.subject == key)
        ).one()
        if live >= limit:
            return oldest
        connection.execute(insert(hits).values(subject=key, expires_at=now + window))
        if random.randrange(SWEEP_ONE_IN) == 0:
            connection.execute(delete(hits).where(hits.c.expires_at <= now))
    return None


def _hit(key: str, limit: int, window: int, now: float) -> float | None:
    """None when the attempt is let through, else the moment (epoch seconds) a slot frees up."""
    global _redis_down_until
    from .queueing import redis_connection

    connection = redis_connection()
    if connection is not None and time.monotonic() >= _redis_down_until:
        try:
            return _hit_redis(connection, key, limit, window, now)
        except RedisError as error:
            _redis_down_until = time.monotonic() + REDIS_RETRY_SECONDS
            log.warning("rate limits: Redis unavailable (%s); counting in the database for the outage",
                        error.__class__.__name__)
    return _hit_database(key, limit, window, now)


def hit(scope: str, subject: str, limit: int, window: int) -> None:
    """Count one attempt; 429 with Retry-After while ``limit`` attempts were let through in the last ``window`` s."""
    now = clock.epoch_ms(clock.now()) / 1000
    frees_at = _hit(_subject(scope, subject), limit, window, now)
    if frees_at is not None:
        retry_after = max(1, math.ceil(frees_at - now))
        raise RateLimited(f"Too many attempts; retry in {retry_after} seconds.", headers={"Retry-After": str(retry_after)})


def reset_memory() -> None:
    """Forget this process's state (a remembered Redis outage); the counts themselves live in Redis or the database."""
    global _redis_down_until
    _redis_down_until = 0.0


def exchange_limit():
    config = current_app.config
    return config["SEECODES_EXCHANGE_RATE_LIMIT"], config["SEECODES_EXCHANGE_RATE_WINDOW_SECONDS"]
