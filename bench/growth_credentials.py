"""Growth of the credential tables: the hot routes beside millions of spent credentials, and a prune beside the load.

The credential tables are shared by every installation, so one database cannot hold a small and a large
size at once. Two bench databases do, migrated as the app's are:
- "fresh" keeps the smallest size: 1,000 spent request keys and a fifth as many used launch codes and
  expired permits;
- "spent" grows through the sizes (the full run's last: 5,000,000 request keys, 1,000,000 launch codes and
  1,000,000 permits), written with bulk SQL (generate_series) into the tables as the migrations made them.
One gunicorn (the project's gunicorn.conf.py, the scheduler off so that the only prune is the one measured)
serves both, through bench/two_databases.py: the X-Bench-Database header picks the database of a request.
Each client process keeps one keep-alive connection and sends a request for the spent database, then one
for the fresh one, and so on (_paired), so both sides are measured at the same moments by the same worker
process; a round's figure is the fresh side's total latency over the spent side's (the throughput ratio of
closed-loop clients), and the line's is the median over the rounds.

Why not two servers measured in alternating rounds: measured one size after the other, minutes apart, two
lines of one run read 0.73x and 1.16x; and two servers on identical databases, loaded in alternating rounds
or request by request, differed by up to 14 % for a whole 30-second measurement, most likely because each
spreads its 4 connections over its 2 workers as the accepts fall (2 + 2, 3 + 1 or 4 + 0). One server,
requests alternating on each connection: 0.95x to 1.06x per 8-second round between identical databases,
medians 0.99x and 1.00x, on the shared machine.

Then the prune: the Jira route POST /v1/security/task-permit (Forge token and a rotating request key per
client, as bench/http.py drives it) under load on the spent database, in alternating rounds without and with
`flask maintenance prune` (the real command, a subprocess, retention 0 days so that every spent row is due)
deleting beside it; each "with" round starts the command, waits until it is deleting, measures, and stops
it (its open batch rolls back; the next round's command goes on where the committed batches left off). The
figure is the p99 over all requests of the "with" rounds against the p99 over all of the "without" rounds.
"""
import itertools
import json
import multiprocessing
import os
import statistics
import subprocess
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from seecodes.forge import dev

from . import common
from .http import Client

APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000c4ed5"
INSTALLATION_ID = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
PRINCIPAL = "557058:bench"
PROJECT, TASK = "BENCH", "BENCH-1"
FULL_SIZES = (1_000, 1_000_000, 5_000_000)  # spent request keys; launch codes and permits: a fifth of it
QUICK_SIZES = (1_000, 200_000)
OTHERS_PER_KEY = 5  # request keys per launch code and per permit
THROUGHPUT_RATIO = 0.9  # >= 0.9x the throughput on fresh tables
PRUNE_P99 = 2.0  # the Jira route's p99 beside a prune: <= 2x its p99 without
PRUNE_APP_NAME = "bench-growth-prune"
HEADER = "X-Bench-Database"  # which database a request is for (bench/two_databases.py)

# Rows [low, high) of each table, all of installation :pk (a tenth of the keys are the bench user's own spent
# chains). Each statement inserts in the order of the table's random unique key (hash or id), so that every
# index is written front to back instead of at random (5,000,000 keys: 2 min 40 s sorted, 4 min not, on the
# loaded machine); expires_at rises with the same key over the five days before yesterday, so its index is
# written in order too.
SPREAD = "now() - interval '6 days' + ('x' || substr({key}, 1, 8))::bit(32)::bigint * interval '100 microseconds'"
FILL = {
    "request_keys": (
        "INSERT INTO request_keys (key_hash, installation_pk, principal, session_id, created_at, expires_at, "
        "consumed_at) SELECT h, :pk, CASE WHEN i % 10 = 0 THEN :principal ELSE '557058:old' || (i % 500) END, "
        f"'s' || i, now() - interval '7 days', {SPREAD.format(key='h')}, now() - interval '7 days' "
        "FROM (SELECT i, md5('rk' || i) || md5('rk2' || i) AS h FROM generate_series(:low, :high - 1) AS i) AS g "
        "ORDER BY h"),
    "launch_codes": (
        "INSERT INTO launch_codes (code_hash, installation_pk, project_id, task_id, user_account_id, created_at, "
        "expires_at, consumed_at) SELECT h, :pk, :project, 'OLD-' || (i % 1000), '557058:old', "
        f"now() - interval '7 days', {SPREAD.format(key='h')}, now() - interval '7 days' "
        "FROM (SELECT i, md5('lc' || i) || md5('lc2' || i) AS h FROM generate_series(:low, :high - 1) AS i) AS g "
        "ORDER BY h"),
    "permits": (
        "INSERT INTO permits (id, installation_pk, project_id, task_id, user_account_id, source, issued_at, "
        "expires_at) SELECT 'pmt_' || h, :pk, :project, 'OLD-' || (i % 1000), '557058:old', 'launch_code', "
        f"now() - interval '7 days', {SPREAD.format(key='h')} "
        "FROM (SELECT i, substr(md5('pm' || i), 1, 24) AS h FROM generate_series(:low, :high - 1) AS i) AS g "
        "ORDER BY h"),
}
TABLES = tuple(FILL)


def database_urls() -> dict:
    """The two databases, named after the bench database (SEECODES_BENCH_DATABASE_URL), so that two benches
    with distinct bench databases never share them."""
    return {side: f"{common.DATABASE_URL}_{side}" for side in ("fresh", "spent")}


def _env(instance: str, url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": url, "SEECODES_INSTANCE_PATH": instance, "REDIS_URL": "",
           "SEECODES_SECRET_KEY": "bench-secret-key-growth-credentials", "FORGE_APP_ID": APP_ID,
           "FORGE_JWKS_URL": os.path.join(instance, dev.JWKS_FILE), "SEECODES_SCHEDULER": "off",
           "FORGE_MAX_TOKEN_LIFETIME_SECONDS": str(common.TOKEN_TTL_SECONDS)}
    env.pop("SEECODES_SECRET_KEY_FALLBACKS", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _token(instance: str) -> str:
    return common.forge_token(instance, APP_ID, INSTALLATION_ID, str(uuid.uuid4()), PRINCIPAL)


def fill(url: str, pk: int, low: int, high: int) -> float:
    """Add request keys [low, high) and launch codes and permits [low / 5, high / 5) (see FILL), on two
    connections at once (one per core: the request keys in two halves, then the others), then VACUUM ANALYZE
    as autovacuum would and a checkpoint, so that neither hint-bit writes nor the fill's dirty pages are paid
    by the next measurement."""
    started = time.perf_counter()
    engine = create_engine(url, pool_size=2)
    middle = (low + high) // 2
    chunks = [("request_keys", low, middle), ("request_keys", middle, high)] + [
        (table, low // OTHERS_PER_KEY, high // OTHERS_PER_KEY) for table in ("launch_codes", "permits")]

    def insert(chunk):
        table, first, end = chunk
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL work_mem = '256MB'"))  # the sort of a big chunk, in memory
            connection.execute(text(FILL[table]), {"pk": pk, "project": PROJECT, "principal": PRINCIPAL,
                                                   "low": first, "high": end})

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(insert, chunks))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM ANALYZE {', '.join(TABLES)}"))
        connection.execute(text("CHECKPOINT"))
    engine.dispose()
    return time.perf_counter() - started


def _side(side: str) -> dict:
    return {HEADER: side}


def _permit_step(client: Client, side: str, permit: str):
    path = f"/v1/tasks/{TASK}/progress?projectId={PROJECT}"
    headers = {"Authorization": f"Bearer {permit}", **_side(side)}
    return lambda: client.request("GET", path, headers)


def _jira_step(client: Client, side: str, instance: str, method: str, path: str, body: dict | None = None):
    """A Forge token and a request-key chain of its own (bootstrapped at once), each call rotating the key."""
    token = _token(instance)
    _, data = client.request("POST", "/v1/jira/request-key", {"Authorization": f"Bearer {token}", **_side(side)},
                             {"sessionId": f"growth-{uuid.uuid4().hex[:12]}"})
    state = {"key": json.loads(data)["requestKey"]}

    def step():
        response, _ = client.request(method, path, {"Authorization": f"Bearer {token}", **_side(side),
                                                    "X-SeeCodes-Jira-Request-Key": state["key"]}, body)
        state["key"] = response.getheader("X-SeeCodes-Next-Request-Key")

    return step


def route_loads(bench: dict) -> dict:
    """Per route, what a client process runs: one keep-alive connection, a step on the spent database and one
    on the fresh one."""
    url, permits, instance = bench["url"], bench["permits"], bench["instance"]

    def permit_route(_index):
        client = Client(url)
        return [_permit_step(client, side, permits[side]) for side in ("spent", "fresh")]

    def instances_me(_index):
        client = Client(url)
        return [_jira_step(client, side, instance, "GET", "/v1/instances/me") for side in ("spent", "fresh")]

    return {"permit_route": permit_route, "instances_me": instances_me}


def _task_permit_load(bench: dict):
    """common.load's client factory: POST /v1/security/task-permit on the spent database."""
    def factory(_index):
        return _jira_step(Client(bench["url"]), "spent", bench["instance"], "POST", "/v1/security/task-permit",
                          {"projectId": PROJECT, "taskId": TASK, "userAccountId": PRINCIPAL})

    return factory


def _paired_client(make_steps, index, start_at, end_at, queue):
    """One client process: one connection, a request on each database in turn."""
    try:
        steps = make_steps(index)
        timed = ([], [])  # per side: (start, latency) of each request in the measured window
        for turn in itertools.count():
            for side in (0, 1) if turn % 2 == 0 else (1, 0):  # A B B A …: neither side always goes first
                began = time.time()
                steps[side]()
                if began >= start_at:
                    timed[side].append((began, time.time() - began))
            if time.time() >= end_at:
                break
        queue.put(timed)
    except BaseException as exc:  # report it to the parent instead of leaving it waiting
        queue.put(f"client {index}: {exc!r}")
        raise


def _paired(make_steps, processes: int, seconds: float, warmup: float = 1.0) -> dict:
    """Client processes, each on one keep-alive connection, sending a request for the spent database, then
    one for the fresh one, and so on: both sides are measured at the same moments, under the same load, by
    the same worker process.

    A closed-loop client's throughput is the inverse of its latency, so the spent side's throughput against
    the fresh side's is the fresh side's total latency over the spent side's. Answers per side the
    throughput (processes / mean latency) and the p50 / p99 latency, and the ratio."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    start_at = time.time() + warmup + 0.5 + 0.1 * processes
    workers = [context.Process(target=_paired_client, args=(make_steps, i, start_at, start_at + seconds, queue))
               for i in range(processes)]
    for worker in workers:
        worker.start()
    answers = [queue.get(timeout=seconds + warmup + 180) for _ in workers]
    for worker in workers:
        worker.join()
    failures = [answer for answer in answers if isinstance(answer, str)]
    if failures or any(worker.exitcode for worker in workers):
        raise RuntimeError("; ".join(failures) or "a bench client failed")
    latencies = [[latency for answer in answers for _, latency in answer[side]] for side in (0, 1)]

    def summary(side):
        return {"rps": processes * len(latencies[side]) / sum(latencies[side]), "requests": len(latencies[side]),
                "p50_ms": 1000 * common.percentile(latencies[side], 0.50),
                "p99_ms": 1000 * common.percentile(latencies[side], 0.99)}

    return {"spent": summary(0), "fresh": summary(1), "ratio": sum(latencies[1]) / sum(latencies[0])}


def _installation_pk(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        pk = connection.execute(text("SELECT id FROM installations WHERE installation_id = :i"),
                                {"i": INSTALLATION_ID}).scalar_one()
    engine.dispose()
    return pk


def _prune_backends(connection) -> int:
    return connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"),
                              {"n": PRUNE_APP_NAME}).scalar_one()


def _start_prune(env: dict, connection) -> subprocess.Popen:
    """`flask maintenance prune` with a retention of 0 days, once its first DELETE has reached the database."""
    process = subprocess.Popen([common.PYTHON, "-m", "flask", "--app", "wsgi", "maintenance", "prune"],
                               cwd=common.ROOT, env={**env, "SEECODES_CREDENTIAL_RETENTION_DAYS": "0",
                                                     "PGAPPNAME": PRUNE_APP_NAME},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while process.poll() is None and time.monotonic() < deadline:
        if connection.execute(text("SELECT 1 FROM pg_stat_activity WHERE application_name = :n "
                                   "AND query LIKE 'DELETE%'"), {"n": PRUNE_APP_NAME}).first():
            return process
        time.sleep(0.05)
    common.stop_process(process)
    raise RuntimeError(f"the prune never deleted: {process.stderr.read().decode()[-2000:]}")


def _stop_prune(process: subprocess.Popen, connection) -> None:
    """Stop the command (SIGTERM) and wait until its backend has gone, so that the next round runs without it."""
    common.stop_process(process)
    deadline = time.monotonic() + 30
    while _prune_backends(connection) and time.monotonic() < deadline:
        time.sleep(0.05)


def _spent_left(connection) -> bool:
    """Whether a spent row is still due: then the prune was deleting for the whole round."""
    return any(connection.execute(text(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE expires_at < now() - "
                                       "interval '1 hour')")).scalar_one() for table in TABLES)


def _spent_rows(connection) -> int:
    return sum(connection.execute(text(f"SELECT count(*) FROM {table} WHERE expires_at < now() - interval '1 hour'"))
               .scalar_one() for table in TABLES)


def _prune_beside_load(env: dict, url: str, jira, processes: int, seconds: float, rounds: int) -> dict:
    """The Jira route's latencies in rounds without and with the prune deleting beside it, in the order
    without, with, with, without, … so that neither side always comes first."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT")  # pg_stat_activity is read afresh per statement
    loads = {"without": [], "with": []}
    with engine.connect() as connection:
        before = _spent_rows(connection)
        whole_rounds = 0
        for number in range(rounds):
            for side in ("without", "with") if number % 2 == 0 else ("with", "without"):
                if side == "without":
                    loads["without"].append(common.load(jira, processes, seconds))
                    continue
                process = _start_prune(env, connection)
                try:
                    loads["with"].append(common.load(jira, processes, seconds))
                    whole_rounds += _spent_left(connection)
                finally:
                    _stop_prune(process, connection)
        deleted = before - _spent_rows(connection)
    engine.dispose()

    def p99(one_or_more):
        return common.percentile([x for one in one_or_more for x in one["latencies"]], 0.99)

    return {side: {"p50_ms": 1000 * common.percentile([x for one in runs for x in one["latencies"]], 0.5),
                   "p99_ms": 1000 * p99(runs), "rps": statistics.median(one["rps"] for one in runs)}
            for side, runs in loads.items()} | {
        "round_p99_ratios": [p99([w]) / p99([wo]) for w, wo in zip(loads["with"], loads["without"])],
        "deleted": deleted, "spent_before": before, "whole_rounds": whole_rounds, "rounds": rounds}


def drop_databases() -> None:
    admin = create_engine(common.ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for url in database_urls().values():
            connection.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def bench_server(sizes: tuple[int, ...]):
    """Both databases migrated and filled to the smallest size, served by one gunicorn (bench/two_databases.py);
    yields what the measurements need, and drops the databases afterwards."""
    urls = database_urls()
    instance = tempfile.mkdtemp(prefix="seecodes-bench-growth-credentials-")
    dev.write_dev_keys(instance)
    envs = {side: _env(instance, url) for side, url in urls.items()}
    for side, url in urls.items():
        common.reset_database(url)
        common.flask_cli(envs[side], "db", "upgrade")
    server_env = {**envs["fresh"], **{f"SEECODES_BENCH_{side.upper()}_DATABASE_URL": url for side, url in urls.items()}}
    try:
        with common.gunicorn("bench.two_databases:app", server_env, common.free_port()) as url:
            client = Client(url)
            permits = {}
            for side in urls:  # provisions the installation in each database and mints a permit there
                token = _token(instance)
                _, data = client.request("POST", "/v1/jira/request-key", {"Authorization": f"Bearer {token}",
                                                                           **_side(side)}, {})
                _, data = client.request("POST", "/v1/security/task-permit", {
                    "Authorization": f"Bearer {token}", **_side(side),
                    "X-SeeCodes-Jira-Request-Key": json.loads(data)["requestKey"]},
                    {"projectId": PROJECT, "taskId": TASK, "userAccountId": PRINCIPAL})
                permits[side] = json.loads(data)["permit"]
            pks = {side: _installation_pk(url) for side, url in urls.items()}
            for side in urls:
                fill(urls[side], pks[side], 0, sizes[0])
            yield {"urls": urls, "env": envs["spent"], "url": url, "permits": permits, "pks": pks,
                   "instance": instance}
    finally:
        drop_databases()


def measure(quick: bool = False) -> dict:
    """Both routes' paired rounds at each size of the spent database past the first, and the prune's rounds."""
    sizes = QUICK_SIZES if quick else FULL_SIZES
    processes, seconds, rounds, prune_seconds, prune_rounds = (2, 3, 2, 1.5, 1) if quick else (4, 8, 3, 3, 6)
    measured = {"sizes": list(sizes), "instances_me": [], "permit_route": [], "fill_seconds": [],
                "connections": processes}
    with bench_server(sizes) as bench:
        low = sizes[0]  # both databases hold the smallest size already
        for size in sizes[1:]:
            measured["fill_seconds"].append(fill(bench["urls"]["spent"], bench["pks"]["spent"], low, size))
            low = size
            for key, make_steps in route_loads(bench).items():
                measured[key].append([_paired(make_steps, processes, seconds) for _ in range(rounds)])
            print(f"     growth: {size:,} spent request keys measured (filled in "
                  f"{measured['fill_seconds'][-1]:.1f} s)", flush=True)
        measured["prune"] = _prune_beside_load(bench["env"], bench["urls"]["spent"], _task_permit_load(bench),
                                               processes, prune_seconds, prune_rounds)
    return measured


ROUTES = (("instances_me", "GET /v1/instances/me (Forge token + request key)"),
          ("permit_route", "permit route GET /v1/tasks/{taskId}/progress"))


def _rows(size: int) -> str:
    return f"{size:,} spent request keys, {size // OTHERS_PER_KEY:,} launch codes and permits"


def _ratio(rounds: list[dict]) -> float:
    return statistics.median(one["ratio"] for one in rounds)


def _side_summary(rounds: list[dict], side: str) -> tuple[float, dict]:
    """The median over the rounds of one side's throughput, p50 and p99."""
    return (statistics.median(one[side]["rps"] for one in rounds),
            {"p50": statistics.median(one[side]["p50_ms"] for one in rounds),
             "p99": statistics.median(one[side]["p99_ms"] for one in rounds)})


def curves(measured: dict) -> list[tuple[list[float], str]]:
    """Per route, its paired cost at each size (1 at the smallest, where both databases hold the same rows)."""
    return [([1.0] + [1 / _ratio(rounds) for rounds in measured[key]], f"{name} (paired with fresh tables)")
            for key, name in ROUTES]


def report(measured: dict) -> list[dict]:
    sizes, connections = measured["sizes"], measured["connections"]
    results = []
    for key, name in ROUTES:
        rounds = measured[key][-1]
        ratio = _ratio(rounds)

        (spent, spent_ms), (fresh, fresh_ms) = _side_summary(rounds, "spent"), _side_summary(rounds, "fresh")
        results.append(common.result(
            f"growth: {name} with {_rows(sizes[-1])} vs fresh tables ({_rows(sizes[0])}; requests alternating "
            "on each connection)", "requests per second", fresh, spent, f">= {THROUGHPUT_RATIO:.0%} of fresh tables",
            ratio >= THROUGHPUT_RATIO, connections=connections, ratio=ratio,
            round_ratios=[round(one["ratio"], 3) for one in rounds],
            curve=[1.0] + [_ratio(each) for each in measured[key]],
            latency_ms={"candidate": spent_ms, "baseline": fresh_ms}))
    prune = measured["prune"]
    with_, without = prune["with"], prune["without"]
    whole = prune["whole_rounds"] == prune["rounds"]
    results.append(common.result(
        f"growth: Jira POST /v1/security/task-permit p99 beside `flask maintenance prune` ({prune['deleted']:,} of "
        f"{prune['spent_before']:,} spent rows deleted in {prune['rounds']} round{'s' * (prune['rounds'] > 1)}"
        + ("" if whole else f"; the prune had rows left at the end of only {prune['whole_rounds']} of them")
        + ") vs without",
        "ms (p99)", without["p99_ms"], with_["p99_ms"], f"<= {PRUNE_P99:.0f}x",
        with_["p99_ms"] <= PRUNE_P99 * without["p99_ms"], connections=connections,
        round_p99_ratios=[round(r, 3) for r in prune["round_p99_ratios"]],
        throughput_rps={"candidate": with_["rps"], "baseline": without["rps"]},
        latency_ms={"candidate": {"p50": with_["p50_ms"], "p99": with_["p99_ms"]},
                    "baseline": {"p50": without["p50_ms"], "p99": without["p99_ms"]}}))
    return results
