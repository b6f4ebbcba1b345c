"""Whether psycopg prepares statements on the PostgreSQL server: yes on a direct connection, no behind a pooler.

psycopg 3 prepares a statement on the server after 5 executions on one connection and names it in every
later execution. That is most of the database's work for the hot routes (measured on this project's
statements: the Jira route's request-key rotation costs the server about 120 µs prepared against 490 µs
parsed and planned anew). Behind a pooler that multiplexes server connections (PgBouncer in transaction
mode) each transaction may run on another server connection, where the name is unknown or belongs to
another client's statement: `prepared statement "_pg3_0" does not exist`, `... already exists`, or a
statement with the wrong parameters.

SEECODES_DB_PREPARE:
- `auto` (default): find out on the process's first connection. A pooler that multiplexes answers the
  client's startup with a cancel key of its own, so the backend pid that the client was told differs from
  the one the server reports (`SELECT pg_backend_pid()`); a direct connection or a plain TCP proxy passes the
  server's own. Behind a pooler, nothing is prepared.
- `on`: psycopg's default, for a pooler that keeps prepared statements (session mode, or PgBouncer ≥ 1.21
  with max_prepared_statements).
- `off`: never prepare.

The decision is taken once per process and engine and inherited by forks (the RQ work horses), so no
connection after the first pays a round trip for it.
"""
import logging

from sqlalchemy import event

from . import settings
from .extensions import db

log = logging.getLogger(__name__)


def mode(app) -> str:
    """auto, on or off (validated by seecodes/settings.py)."""
    return settings.value("SEECODES_DB_PREPARE", app)


def behind_pooler(dbapi_connection) -> bool:
    """True when the server backend is not the one the connection's startup named (see the module's doc)."""
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True  # one round trip, no transaction left behind
    try:
        server_pid = dbapi_connection.execute("SELECT pg_backend_pid()").fetchone()[0]
    finally:
        dbapi_connection.autocommit = autocommit
    return server_pid != dbapi_connection.info.backend_pid


def register(app) -> None:
    chosen = mode(app)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name != "postgresql" or chosen == "on":
        return
    decided = {"prepare": False} if chosen == "off" else {}

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        if "prepare" not in decided:
            decided["prepare"] = not behind_pooler(dbapi_connection)
            if not decided["prepare"]:
                log.info("PostgreSQL is reached through a connection pooler: no server-side prepared statements "
                         "(SEECODES_DB_PREPARE=on keeps them, e.g. behind PgBouncer in session mode)")
        if not decided["prepare"]:
            dbapi_connection.prepare_threshold = None
