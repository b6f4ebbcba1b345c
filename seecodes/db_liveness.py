"""Pooled PostgreSQL connections checked at checkout without a round trip per request.

SQLAlchemy's pool_pre_ping sends a SELECT 1 on every checkout, which is one more round trip on every request
(a quarter to a third of a credential route's). Instead: a connection whose socket has something to read
while it sat idle in the pool was closed or is being closed by the server (restart, idle timeout,
pg_terminate_backend) and is replaced at once, at the cost of a zero-timeout poll; one that sat idle longer
than IDLE_PING_SECONDS (where a silent network drop could hide) is still pinged.
"""
import select
import time

from sqlalchemy import event, exc

from .extensions import db

IDLE_PING_SECONDS = 10.0
_CHECKED_IN = "seecodes.checked_in_at"


def socket_has_data(dbapi_connection) -> bool:
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return False
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except Exception:  # no socket any more: the connection is gone
        return True
    return bool(readable)


def register(app) -> None:
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql":
        return  # SQLite files do not go away under a connection

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_connection, record):
        if record is not None:
            record.info[_CHECKED_IN] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_connection, record, _proxy):
        if dbapi_connection.closed or socket_has_data(dbapi_connection):
            raise exc.DisconnectionError("the server closed this pooled connection")
        checked_in = record.info.get(_CHECKED_IN)
        if checked_in is not None and time.monotonic() - checked_in > IDLE_PING_SECONDS:
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as error:
                raise exc.DisconnectionError(f"ping failed: {error.__class__.__name__}")
