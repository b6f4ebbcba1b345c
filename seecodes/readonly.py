"""Read-only requests: their SELECTs run in autocommit (no BEGIN / COMMIT round trips) and writes are refused."""
from contextlib import contextmanager

from sqlalchemy import event

from .extensions import db

READ_ONLY = "seecodes_read_only"
OPTIONS = {"isolation_level": "AUTOCOMMIT", READ_ONLY: True}


class WriteInReadOnlyRequest(RuntimeError):
    """A programming error: in autocommit, a write would commit on its own, outside the request's fate."""


@contextmanager
def connection():
    """A pooled Core connection in autocommit, so a lone SELECT is one round trip (no BEGIN, no COMMIT or
    ROLLBACK). It bypasses the ORM session, whose transaction bookkeeping a single read does not need, and
    goes back to the pool, isolation level restored, when the block ends."""
    with db.engine.connect() as opened:
        yield opened.execution_options(**OPTIONS)


def _refuse_writes(_conn, _cursor, statement, _parameters, context, _executemany):
    if context is not None and context.execution_options.get(READ_ONLY) \
            and statement.lstrip()[:6].upper() != "SELECT":
        raise WriteInReadOnlyRequest(f"a read-only request tried to write: {statement[:80]!r}")


def register(app) -> None:
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", _refuse_writes)
