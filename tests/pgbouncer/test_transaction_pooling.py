"""Behind PgBouncer in transaction pooling mode (docs/operations.md): every transaction of a client may run on
another server connection, so nothing may outlive a transaction on one (no server-side prepared statement,
no session advisory lock). The app's routes, the RQ worker, the reaper and the migrations all go through the
session's PgBouncer, whose 2 server connections per database are shared by every client, in turn."""
import subprocess
import sys
import time

import pytest
from sqlalchemy import create_engine, text

from ..contract_examples import PROGRESS_EXAMPLE
from ..helpers import JiraSession, bearer, race
from ..production import AWS_ENV, ROOT
from ..runs.conftest import LIST_MD, RunDriver
from .conftest import MIGRATION_SERVER_CONNECTIONS, MIGRATIONS_DB

pytestmark = pytest.mark.slow

CLIENTS = 4  # threads of the test process, each on a pooled connection of its own, sharing 2 server connections
CALLS = 8  # per statement and client connection: past psycopg's prepare threshold (5 executions)


def test_the_jira_and_permit_routes_answer_through_transaction_pooling(app, signer):
    """Four tenants at once, each rotating its request key, launching the IDE (vscode-link, launch-exchange),
    minting a task permit and using it, every statement more often than psycopg's prepare threshold."""
    def one_tenant(index):
        jira = JiraSession(app.test_client(), signer, f"ari:cloud:ecosystem::installation/"
                           f"00000000-0000-4000-8000-{index:012d}", f"00000000-0000-4000-9000-{index:012d}",
                           f"557058:user-{index}")
        jira.bootstrap()
        statuses = []
        for _ in range(CALLS):
            statuses.append(jira.get("/v1/instances/me").status_code)
        permit = jira.launch()
        jira.bootstrap()  # a new chain beside the first
        permit = jira.permit() if index % 2 else permit
        client, auth = jira.client, bearer(permit)
        for _ in range(CALLS):
            statuses.append(client.post("/v1/tasks/AUTH-128/progress", json=PROGRESS_EXAMPLE, headers=auth).status_code)
            statuses.append(client.get("/v1/tasks/context", headers=auth).status_code)
        return statuses

    results = race(CLIENTS, one_tenant, timeout=120)
    failures = [result for result in results if isinstance(result, BaseException)]
    assert not failures, failures
    assert [set(statuses) for statuses in results] == [{200}] * CLIENTS, results


def test_runs_flow_through_transaction_pooling_with_a_worker_behind_it(app, permit, worker, funded, credits_of):
    """Three IDE clients at once, each polling its run (dozens of executions of the status read) while the
    worker claims, records and finishes the runs through the same 2 server connections."""
    def one_run(_index):
        runs = RunDriver(app.test_client(), permit)
        run_id, _ = runs.prepared({"list.md": LIST_MD})
        started = runs.start(run_id)
        assert started.status_code == 200, started.get_json()
        status = runs.wait(run_id)
        assert status["status"] == "succeeded", (status, worker.output()[-3000:])
        assert "Callback validation" in runs.output(run_id).text
        assert runs.logs(run_id).status_code == 200
        return started.get_json()["estimatedCredits"]

    results = race(3, one_run, timeout=120)
    failures = [result for result in results if isinstance(result, BaseException)]
    assert not failures, (failures, worker.output()[-3000:])
    assert credits_of(funded) == 1000 - sum(results)
    assert "prepared statement" not in worker.output()


def _upgrade(url: str, folder) -> subprocess.Popen:
    folder.mkdir(exist_ok=True)
    env = {**AWS_ENV, "PATH": "/usr/bin:/bin", "DATABASE_URL": url, "SEECODES_INSTANCE_PATH": str(folder),
           "SEECODES_SECRET_KEY": "test-secret-key-of-the-migration-process", "SEECODES_LOG_LEVEL": "WARNING",
           "SEECODES_SCHEDULER": "off", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _finished(process: subprocess.Popen, limit: float) -> tuple[int | None, str]:
    try:
        output, _ = process.communicate(timeout=limit)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        return None, output.decode(errors="replace")
    return process.returncode, output.decode(errors="replace")


def test_concurrent_migrations_through_transaction_pooling_leave_no_lock_behind(pgbouncer, tmp_path):
    """Two `flask db upgrade` at once (`make run` and `make worker` starting together), then a third, which
    must not wait on a lock that the first two left on a pooled server connection."""
    direct = pgbouncer.targets[MIGRATIONS_DB].render_as_string(hide_password=False)
    engine = create_engine(direct, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        url = pgbouncer.url(MIGRATIONS_DB)
        pgbouncer.open_server_connections(MIGRATIONS_DB, MIGRATION_SERVER_CONNECTIONS)
        first, second = _upgrade(url, tmp_path / "first"), _upgrade(url, tmp_path / "second")
        for process in (first, second):
            code, output = _finished(process, 60)
            assert code == 0, output
        with engine.connect() as connection:
            # A session-level advisory lock outlives its client on PgBouncer's pooled server connection.
            held = connection.execute(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())")).scalar()
            version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        started = time.monotonic()
        code, output = _finished(_upgrade(url, tmp_path / "third"), 20)
        assert code == 0, f"the third upgrade {'hung' if code is None else 'failed'}: {output}"
        assert held == 0
        assert version and time.monotonic() - started < 20
    finally:
        engine.dispose()
