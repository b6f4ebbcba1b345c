"""Fixed-window rate limits: counters in Redis when configured (shared by every host), else in memory."""
import threading
import time

from flask import current_app

from .errors import RateLimited

_memory: dict[str, tuple[int, int]] = {}
_memory_lock = threading.Lock()


def _hit_memory(key: str, window: int, now: int) -> int:
    bucket = now // window
    with _memory_lock:
        seen_bucket, count = _memory.get(key, (bucket, 0))
        count = count + 1 if seen_bucket == bucket else 1
        _memory[key] = (bucket, count)
        if len(_memory) > 100_000:  # bound memory under address churn
            _memory.clear()
        return count


def _hit_redis(connection, key: str, window: int, now: int) -> int:
    bucket_key = f"seecodes:rl:{key}:{now // window}"
    pipe = connection.pipeline()
    pipe.incr(bucket_key)
    pipe.expire(bucket_key, window + 1)
    count, _ = pipe.execute()
    return int(count)


def hit(scope: str, subject: str, limit: int, window: int) -> None:
    """Count one attempt; 429 with Retry-After once the window's limit is passed."""
    from .queueing import redis_connection

    now = int(time.time())
    key = f"{scope}:{subject}"
    connection = redis_connection()
    count = _hit_redis(connection, key, window, now) if connection is not None else _hit_memory(key, window, now)
    if count > limit:
        retry_after = window - now % window
        raise RateLimited(f"Too many attempts; retry in {retry_after} seconds.", headers={"Retry-After": str(retry_after)})


def reset_memory() -> None:
    with _memory_lock:
        _memory.clear()


def exchange_limit():
    config = current_app.config
    return config["SEECODES_EXCHANGE_RATE_LIMIT"], config["SEECODES_EXCHANGE_RATE_WINDOW_SECONDS"]
