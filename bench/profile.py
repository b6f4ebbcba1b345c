"""In-process profiles of the HTTP hot paths: CPU per request, SQL round trips and commits, time per layer.

`python -m bench.profile [--requests N] [--route permit|jira|baseline-permit|baseline-jira] [--top K]`
calls each app's WSGI callable directly (no server, no client), on the bench PostgreSQL database.
Round trips and commits are counted exactly; the layer table sums cProfile's self time per package, so a
change shows up as the layer that got cheaper. Under load compare the counts and the shares, not seconds.
"""
import argparse
import cProfile
import io
import os
import pstats
import time
import uuid

from sqlalchemy import event
from sqlalchemy.engine import Engine

from . import common, http

LAYERS = [  # (label, path fragment); first match wins
    ("werkzeug (WSGI, headers)", "/werkzeug/"),
    ("flask (app, context, json)", "/flask/"),
    ("flask-smorest / webargs", "/flask_smorest/"),
    ("flask-smorest / webargs", "/webargs/"),
    ("marshmallow", "/marshmallow/"),
    ("flask-sqlalchemy", "/flask_sqlalchemy/"),
    ("sqlalchemy", "/sqlalchemy/"),
    ("psycopg (driver, wire)", "/psycopg"),
    ("pyjwt + cryptography (RS256)", "/jwt/"),
    ("pyjwt + cryptography (RS256)", "/cryptography/"),
    ("itsdangerous (permit)", "/itsdangerous/"),
    ("seecodes guard", "/seecodes/auth/"),
    ("seecodes services", "/seecodes/"),
    ("bench baseline app", "/bench/"),
    ("logging", "/logging/"),
    ("json", "/json/"),
]


class Counter:
    """SQL statements, commits and network round trips to PostgreSQL, counted for every engine of the process.

    Round trips are counted in psycopg itself: every cursor execute (including the pool's pre-ping) and every
    BEGIN / COMMIT / ROLLBACK that psycopg sends as a command of its own.
    """

    def __init__(self):
        self.statements = 0
        self.commits = 0
        self.round_trips = 0
        self.log = []
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)
        self._count_round_trips()

    def _count_round_trips(self):
        import psycopg
        from psycopg import _connection_base

        counter = self
        execute, exec_command = psycopg.Cursor.execute, _connection_base.BaseConnection._exec_command

        def counted_execute(cursor, *args, **kwargs):
            counter.round_trips += 1
            return execute(cursor, *args, **kwargs)

        def counted_command(connection, command, *args, **kwargs):
            counter.round_trips += 1
            counter.log.append(f"[{bytes(command).decode() if isinstance(command, bytes) else command}]")
            return (yield from exec_command(connection, command, *args, **kwargs))

        psycopg.Cursor.execute = counted_execute
        _connection_base.BaseConnection._exec_command = counted_command

    def _statement(self, _conn, _cursor, statement, _params, _context, _many):
        self.statements += 1
        self.log.append(" ".join(statement.split())[:int(os.environ.get("PROFILE_SQL_CHARS", 160))])

    def _commit(self, _conn):
        self.commits += 1


def _layer(filename: str) -> str:
    for label, fragment in LAYERS:
        if fragment in filename:
            return label
    return "stdlib / other"


def layer_table(profile: cProfile.Profile, requests: int) -> list[tuple[str, float, float]]:
    stats = pstats.Stats(profile)
    totals: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in stats.stats.items():
        label = _layer(filename)
        totals[label] = totals.get(label, 0.0) + tottime
    whole = sum(totals.values()) or 1.0
    return sorted(((label, 1e6 * t / requests, t / whole) for label, t in totals.items()),
                  key=lambda row: -row[1])


def _start_response(status, headers, exc_info=None):
    _start_response.status, _start_response.headers = status, dict(headers)


def call(app, environ_factory) -> tuple[str, dict, bytes]:
    body = b"".join(app(environ_factory(), _start_response))
    return _start_response.status, _start_response.headers, body


def _environ(path: str, headers: dict):
    """Built once and copied per request, so that building it is not profiled as the app's work."""
    from werkzeug.test import EnvironBuilder

    template = EnvironBuilder(path=path, method="GET", headers=headers).get_environ()
    return lambda **changes: {**template, **changes}


def setup():
    """A migrated bench database, the installation, a permit and a run; both apps in this process."""
    instance, env = common.prepare_app(http.APP_ID, "seecodes-profile-", REDIS_URL="")
    os.environ.update({k: v for k, v in env.items() if k.startswith(("SEECODES_", "FORGE_", "DATABASE_URL"))})
    os.environ["SEECODES_INSTANCE_PATH"] = instance
    os.environ["SEECODES_LOG_LEVEL"] = "WARNING"
    from seecodes import create_app

    candidate = create_app()
    client = candidate.test_client()
    token = http._token(instance)
    key = client.post("/v1/jira/request-key", json={}, headers={"Authorization": f"Bearer {token}"}).get_json()
    answer = client.post("/v1/security/task-permit",
                         json={"projectId": http.PROJECT, "taskId": http.TASK, "userAccountId": http.PRINCIPAL},
                         headers={"Authorization": f"Bearer {token}",
                                  "X-SeeCodes-Jira-Request-Key": key["requestKey"]})
    assert answer.status_code == 200, answer.get_json()
    permit = answer.get_json()["permit"]
    run_id = http.insert_run(env["DATABASE_URL"])
    from . import minimal_app

    return candidate, minimal_app.app, instance, permit, run_id, token


def routes(candidate, baseline, permit, run_id, token):
    """route name -> (wsgi app, a function making the next request's environ, expected status)."""
    permit_auth = {"Authorization": f"Bearer {permit}"}
    made = {}

    def jira(app, path, label):
        client = candidate.test_client()
        state = {"key": client.post("/v1/jira/request-key", json={"sessionId": f"{label}-{uuid.uuid4().hex[:6]}"},
                                    headers={"Authorization": f"Bearer {token}"}).get_json()["requestKey"]}

        template = _environ(path, {"Authorization": f"Bearer {token}", "X-SeeCodes-Jira-Request-Key": "-"})

        def next_environ():
            return template(HTTP_X_SEECODES_JIRA_REQUEST_KEY=state["key"])

        def after(headers):
            state["key"] = headers["X-SeeCodes-Next-Request-Key"]

        return app, next_environ, after

    made["permit"] = (candidate.wsgi_app, _environ(f"/v1/tasks/{run_id}", permit_auth), None)
    made["baseline-permit"] = (baseline.wsgi_app, _environ(f"/baseline/runs/{run_id}", permit_auth), None)
    made["jira"] = jira(candidate.wsgi_app, "/v1/instances/me", "profile-candidate")
    made["baseline-jira"] = jira(baseline.wsgi_app, "/baseline/jira", "profile-baseline")
    return made


def measure(name, app, next_environ, after, requests, counter, top, plain=False):
    for _ in range(20):  # warm caches (compiled statements, pools) before counting
        status, headers, body = call(app, next_environ)
        if not status.startswith("200"):
            raise RuntimeError(f"{name}: {status} {body[:300]!r}")
        if after:
            after(headers)
    counter.statements = counter.commits = counter.round_trips = 0
    counter.log.clear()
    status, headers, _ = call(app, next_environ)
    if after:
        after(headers)
    one_request_sql = list(counter.log)
    round_trips = counter.round_trips
    counter.statements = counter.commits = 0
    began_cpu, began_wall = time.process_time(), time.perf_counter()
    for _ in range(requests):
        status, headers, _ = call(app, next_environ)
        if after:
            after(headers)
    cpu = (time.process_time() - began_cpu) / requests
    wall = (time.perf_counter() - began_wall) / requests
    statements, commits = counter.statements / requests, counter.commits / requests
    if plain:  # only the measured loop: CPU and round trips, no cProfile pass
        print(f"## {name}: {requests} requests, {cpu * 1e6:.0f} µs CPU per request, {round_trips} round trips")
        return
    profile = cProfile.Profile()
    profile.enable()
    for _ in range(requests):
        status, headers, _ = call(app, next_environ)
        if after:
            after(headers)
    profile.disable()
    if os.environ.get("PROFILE_DUMP"):
        profile.dump_stats(f"{os.environ['PROFILE_DUMP']}.{name}")
    calls = sum(nc for (_cc, nc, _t, _ct, _c) in pstats.Stats(profile).stats.values()) / requests
    print(f"\n## {name}: {cpu * 1e6:.0f} µs CPU, {wall * 1e6:.0f} µs wall per request; "
          f"{statements:.2f} SQL statements, {commits:.2f} commits, {round_trips} round trips to PostgreSQL, "
          f"{calls:.0f} Python calls per request")
    for line in one_request_sql:
        print(f"   sql: {line}")
    print("   layer (self time)                 µs/req  share")
    for label, micros, share in layer_table(profile, requests):
        print(f"   {label:<34} {micros:6.0f}  {share:5.1%}")
    if top:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "cumulative")).print_stats(top)
        print(out.getvalue())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--route", action="append", choices=["permit", "baseline-permit", "jira", "baseline-jira"])
    parser.add_argument("--top", type=int, default=0, help="also print the top K functions by cumulative time")
    parser.add_argument("--plain", action="store_true", help="no cProfile pass (CPU and round trips only)")
    parser.add_argument("--job", action="store_true", help="profile the run job instead of the HTTP routes")
    args = parser.parse_args(argv)
    if args.job:
        profile_job()
        return
    candidate, baseline, _instance, permit, run_id, token = setup()
    counter = Counter()
    made = routes(candidate, baseline, permit, run_id, token)
    for name in args.route or ["baseline-permit", "permit", "baseline-jira", "jira"]:
        app, next_environ, after = made[name]
        measure(name, app, next_environ, after, args.requests, counter, args.top, args.plain)



def profile_job(runs: int = 20) -> None:
    """`python -m bench.profile --job`: the run job's per-run fixed cost in-process (statements, round trips,
    commits, time per layer), over `runs` runs prepared through the API (init, upload, start) on PostgreSQL."""
    from seecodes.runs import jobs

    candidate, _baseline, _instance, permit, _run_id, _token = setup()
    client = candidate.test_client()
    auth = {"Authorization": f"Bearer {permit}"}
    counter = Counter()
    with candidate.app_context():
        from seecodes.installations import service as installations
        from seecodes.extensions import db

        installations.grant_credits(installations.get_by_installation_id(http.INSTALLATION_ID).id, 10**8)
        db.session.commit()
    prepared = []
    for _ in range(runs + 3):
        init = client.post("/v1/tasks/init", json={"model": "strict light"}, headers=auth).get_json()
        path = init["uploads"]["list.md"].split("://", 1)[1].split("/", 1)[1]
        assert client.put("/" + path, data=b"# list\n- [ ] item\n" * 40).status_code in (200, 201, 204)
        started = client.post(f"/v1/tasks/{init['runId']}/start", json={"userPrompt": "generate change log"},
                              headers=auth)
        assert started.status_code == 200, started.get_json()
        prepared.append(init["runId"])
    from seecodes.runs import dispatch

    dispatch.shutdown(candidate)  # the embedded executor ran them already; re-queue ours by hand below
    with candidate.app_context():
        from sqlalchemy import update
        from seecodes.runs.models import Run

        db.session.execute(update(Run).where(Run.id.in_(prepared)).values(status="queued", output_key=None,
                                                                          result_zip_key=None))
        db.session.commit()
    jobs.use_app(candidate)
    for run_id in prepared[:3]:
        jobs.execute_run(run_id)
    counter.statements = counter.commits = counter.round_trips = 0
    counter.log.clear()
    profile = cProfile.Profile()
    began = time.process_time()
    profile.enable()
    for run_id in prepared[3:]:
        assert jobs.execute_run(run_id) == "succeeded"
    profile.disable()
    if os.environ.get("PROFILE_DUMP"):
        profile.dump_stats(f"{os.environ['PROFILE_DUMP']}.job")
    cpu = (time.process_time() - began) / runs
    print(f"\n## run job: {cpu * 1e3:.2f} ms CPU per run; {counter.statements / runs:.1f} SQL statements, "
          f"{counter.commits / runs:.1f} commits, {counter.round_trips / runs:.1f} round trips per run")
    for label, micros, share in layer_table(profile, runs):
        print(f"   {label:<34} {micros:6.0f}  {share:5.1%}")


if __name__ == "__main__":
    main()
