"""The process's Redis connection (None on the embedded default), created once per app."""
from flask import current_app
from redis import Redis


def redis_connection() -> Redis | None:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    connection = current_app.extensions.get("seecodes.redis")
    if connection is None:
        connection = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        current_app.extensions["seecodes.redis"] = connection
    return connection
