"""Read-only requests: their SELECTs run in autocommit (no BEGIN / COMMIT round trips) and writes are refused."""
from sqlalchemy import event

from .extensions import db

READ_ONLY = "seecodes_read_only"
OPTIONS = {"isolation_level": "AUTOCOMMIT", READ_ONLY: True}


class WriteInReadOnlyRequest(RuntimeError):
    """A programming error: in autocommit, a write would commit on its own, outside the request's fate."""


def connection():
    """The session's connection for a read-only request: autocommit, so a lone SELECT is one round trip.

    Call it before anything else uses the session in this request; end the request with db.session.rollback()
    (a no-op on the wire), which hands the connection back with its isolation level restored.
    """
    return db.session.connection(execution_options=OPTIONS)


def _refuse_writes(_conn, _cursor, statement, _parameters, context, _executemany):
    if context is not None and context.execution_options.get(READ_ONLY) \
            and statement.lstrip()[:6].upper() != "SELECT":
        raise WriteInReadOnlyRequest(f"a read-only request tried to write: {statement[:80]!r}")


def register(app) -> None:
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _refuse_writes)
