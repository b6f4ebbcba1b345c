"""Growth: each hot route's cost as an installation's data grows, on PostgreSQL, in one run.

Each family is measured at three sizes of the table behind it (rows made with bulk SQL, generate_series, in
the bench database; each size adds rows to the previous one, then VACUUM ANALYZE) and reported as the ratio
of its cost at the largest size to its cost at the smallest, against its target:
- team competition (GET /v1/jira/team-competition, one month holding N snapshots over N / 2.4 tasks) vs the
  bare SQL that computes the same answer (the per-task aggregate with totals and median, and the newest
  items), <= 3x at the largest size; and the peak Python memory of serving it (tracemalloc), flat with size;
- an activity snapshot (POST /v1/tasks/activity-snapshot) of a task with N earlier windows, <= 1.5x;
- GET /v1/instances/me and a permit route (GET /v1/tasks/{taskId}/progress) with 5,000,000 spent request
  keys, 1,000,000 launch codes and 1,000,000 permits in their tables, >= 0.9x the throughput on fresh tables,
  and the Jira route's p99 beside `flask maintenance prune`, <= 2x (bench/growth_credentials.py: two
  databases behind one gunicorn, since those tables are shared by every installation);
- an index query of 1,000 paths and an upsert of 1,000 entries against an N-entry project, <= 1.5x (the
  largest size against the middle one: 1,000,000 vs 100,000 entries);
- GET /v1/jira/usage (one page of 50) with N usage rows, <= 1.5x.
The other routes are driven in process through the Flask test client (the whole request: token, request
key, SQL, JSON), so the figures are each route's own cost without HTTP or gunicorn noise. Each cost is the
fastest of its rounds (see _best_seconds). It writes docs/img/growth.png (cost against size, one curve per
family, each divided by its cost at the smallest size).
"""
import argparse
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

import psycopg
from sqlalchemy import create_engine, text

from . import common, growth_credentials

FULL_SIZES = (1_000, 100_000, 1_000_000)
QUICK_SIZES = (1_000, 10_000, 50_000)
PLOT = common.ROOT / "docs" / "img" / "growth.png"
APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-00000000b16"
PRINCIPAL = "557058:bench"
PROJECT = "BENCH"
MONTH = ("2026-04-01", "2026-04-30")
FLAT = 1.5
BOARD_VS_SQL = 3.0
MEMORY_FLAT = 1.5
BATCH = 1_000
BOARD_ROUNDS = 5  # the board at a million snapshots takes seconds: fewer rounds than the fast routes


def _build_app(instance: str):
    import flask_migrate

    from seecodes import create_app
    from seecodes.forge import dev

    dev.write_dev_keys(instance)
    os.environ["SEECODES_INSTANCE_PATH"] = instance
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": common.DATABASE_URL, "SECRET_KEY": "bench-secret-key-growth",
                          "REDIS_URL": None, "FORGE_APP_ID": APP_ID,
                          "FORGE_JWKS_URL": os.path.join(instance, dev.JWKS_FILE),
                          "FORGE_MAX_TOKEN_LIFETIME_SECONDS": common.TOKEN_TTL_SECONDS})
    finally:
        os.environ.pop("SEECODES_INSTANCE_PATH", None)
    with app.app_context():
        flask_migrate.upgrade()
    return app


class Caller:
    """One Jira user of one installation, driving the app in process: Forge token, request-key chain, permit."""

    def __init__(self, app, instance: str):
        self.client = app.test_client()
        self.installation_id = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
        self.token = common.forge_token(instance, APP_ID, self.installation_id, str(uuid.uuid4()), PRINCIPAL)
        answer = self.client.post("/v1/jira/request-key", json={}, headers=self._forge())
        assert answer.status_code == 200, answer.get_json()
        self.key = answer.get_json()["requestKey"]
        self.permit = self.jira("POST", "/v1/security/task-permit",
                                json={"projectId": PROJECT, "taskId": "BENCH-1", "userAccountId": PRINCIPAL}
                                ).get_json()["permit"]

    def _forge(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}

    # The answers' bodies are not parsed: a client's JSON decoding is not the server's cost.
    def jira(self, method: str, path: str, **kwargs):
        answer = self.client.open(path, method=method, headers={**self._forge(), "X-SeeCodes-Jira-Request-Key": self.key},
                                  **kwargs)
        assert answer.status_code == 200, (path, answer.status_code, answer.get_data()[:500])
        self.key = answer.headers["X-SeeCodes-Next-Request-Key"]
        return answer

    def task(self, method: str, path: str, **kwargs):
        answer = self.client.open(path, method=method, headers={"Authorization": f"Bearer {self.permit}"}, **kwargs)
        assert answer.status_code == 200, (path, answer.status_code, answer.get_data()[:500])
        return answer


# Rows [low, high) of each family, for installation :pk. Snapshots fill April 2026 (the board's month); the
# bench task BENCH-1's own windows go back from 2026-03-01 (the snapshot route's history).
FILL = {
    "snapshots": (
        "INSERT INTO activity_snapshots (installation_pk, project_id, task_id, user_account_id, window_started_at, "
        "window_ended_at, human_active_ms, loc_added, loc_removed, loc_total, changed_files, changed_files_count, "
        "architecture_change, logic_change, specification_ui_change, effort_units, formula_version, created_at) "
        "SELECT :pk, :project, 'BOARD-' || (i * 5 / 12), '557058:user' || (i % 100), "
        "timestamp '2026-04-01' + (i % 2500000) * interval '1 second' + (i / 2500000) * interval '1 microsecond', "
        "timestamp '2026-04-01 00:15' + (i % 2500000) * interval '1 second' + (i / 2500000) * interval '1 microsecond', "
        "420000, 28, 11, 39, '[\"src/a.ts\", \"src/b.ts\"]'::jsonb, 2, false, i % 3 = 0, false, 10 + i % 31, 'v1', now() "
        "FROM generate_series(:low, :high - 1) AS i"),
    "history": (
        "INSERT INTO activity_snapshots (installation_pk, project_id, task_id, user_account_id, window_started_at, "
        "window_ended_at, human_active_ms, loc_added, loc_removed, loc_total, changed_files, changed_files_count, "
        "architecture_change, logic_change, specification_ui_change, effort_units, formula_version, created_at) "
        "SELECT :pk, :project, 'BENCH-1', :principal, timestamp '2026-03-01' - (i + 1) * interval '15 minutes', "
        "timestamp '2026-03-01' - i * interval '15 minutes', 420000, 28, 11, 39, '[]'::jsonb, 0, false, true, false, "
        "40, 'v1', now() FROM generate_series(:low, :high - 1) AS i"),
    "index": (
        "INSERT INTO project_index_entries (installation_pk, project_id, path, hash, updated_at_ms, short, detailed, "
        "important_symbols, dependencies, exports) "
        "SELECT :pk, :project, 'src/m' || lpad((i / 100)::text, 5, '0') || '/f' || lpad(i::text, 7, '0') || '.ts', "
        "lpad(to_hex(i), 64, '0'), 1710000000000, 'Summary of file ' || i, "
        "'Longer explanation of what file ' || i || ' does.', "
        "jsonb_build_array('Symbol' || i), '[]'::jsonb, '[]'::jsonb FROM generate_series(:low, :high - 1) AS i;"
        "UPDATE project_indexes SET total_files = :high WHERE installation_pk = :pk AND project_id = :project"),
    "usage": (
        "INSERT INTO usage_rows (installation_pk, type, project_id, task_id, run_id, user_account_id, credits, "
        "created_at) SELECT :pk, 'task_run', :project, 'OLD-' || (i % 1000), 'run_old_' || :pk || '_' || i, '557058:old', 5, "
        "timestamp '2025-01-01' + i * interval '1 second' FROM generate_series(:low, :high - 1) AS i"),
}
# VACUUM as well as ANALYZE, as autovacuum would on a live database: on freshly written rows the first
# reads set hint bits (writes) and index-only scans visit the heap, which made 1,000,000 entries look 4.8x
# slower than 100,000 to index queries and upserts (1.0-1.3x after it).
VACUUM = "VACUUM ANALYZE activity_snapshots, project_index_entries, usage_rows"


def _fill(engine, pk: int, low: int, high: int, families=tuple(FILL)) -> float:
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO project_indexes (installation_pk, project_id, total_files, updated_at_ms) "
            "VALUES (:pk, :project, 0, 1710000000000) ON CONFLICT DO NOTHING"), {"pk": pk, "project": PROJECT})
        for family in families:
            for statement in FILL[family].split(";"):
                connection.execute(text(statement), {"pk": pk, "project": PROJECT, "principal": PRINCIPAL,
                                                     "low": low, "high": high})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(VACUUM))
        # Write the fill's dirty pages out now, not while the next size is measured.
        connection.execute(text("CHECKPOINT"))
    return time.perf_counter() - started


def _best_seconds(call, rounds: int, warmup: int = 2) -> float:
    """The fastest of the rounds: sizes are measured one after another, minutes apart, and on a shared
    machine the others' load comes and goes between them; as timeit advises, the minimum is the figure
    least disturbed by it (a median moved by 2x between two sizes of the same run here)."""
    for _ in range(warmup):
        call()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def _peak_bytes(call) -> int:
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


BARE_BOARD = (
    "WITH per_task AS (SELECT project_id, task_id, sum(effort_units) AS e, count(*) AS n, "
    "sum(human_active_ms) AS ms, sum(loc_total) AS loc, min(window_started_at) AS f, max(window_ended_at) AS l, "
    "json_agg(DISTINCT nullif(user_account_id, '')) AS c FROM activity_snapshots "
    "WHERE installation_pk = %(pk)s AND window_ended_at >= %(start)s AND window_ended_at < %(end)s "
    "GROUP BY project_id, task_id), "
    "ranked AS (SELECT *, row_number() OVER (ORDER BY e DESC, project_id COLLATE \"C\", task_id COLLATE \"C\") AS r, "
    "row_number() OVER (ORDER BY e) AS b, count(*) OVER () AS t, sum(n) OVER () AS items FROM per_task) "
    "SELECT * FROM ranked WHERE r <= 2000 OR b IN ((t + 1) / 2, (t + 2) / 2)")
BARE_ITEMS = (
    "SELECT id, project_id, task_id, user_account_id, window_started_at, window_ended_at, human_active_ms, "
    "loc_added, loc_removed, loc_total, changed_files, changed_files_count, architecture_change, logic_change, "
    "specification_ui_change, effort_units FROM activity_snapshots "
    "WHERE installation_pk = %(pk)s AND window_ended_at >= %(start)s AND window_ended_at < %(end)s "
    "ORDER BY window_ended_at DESC, task_id COLLATE \"C\" DESC, id DESC LIMIT 2000")


def _bare_board(connection, pk: int) -> None:
    with connection.cursor() as cursor:
        arguments = {"pk": pk, "start": "2026-04-01", "end": "2026-05-01"}
        cursor.execute(BARE_BOARD, arguments)
        cursor.fetchall()
        cursor.execute(BARE_ITEMS, arguments)
        cursor.fetchall()
    connection.commit()


def _index_items(rng: random.Random, size: int) -> list[dict]:
    chosen = rng.sample(range(size), BATCH)
    items = [{"path": f"src/m{n // 100:05d}/f{n:07d}.ts", "hash": f"{n:064x}"} for n in chosen[:900]]
    items += [{"path": f"src/m{n // 100:05d}/f{n:07d}.ts", "hash": f"{rng.randrange(size):064x}"} for n in chosen[900:950]]
    items += [{"path": f"moved/{n}.ts", "hash": f"{n:064x}"} for n in chosen[950:]]
    return items


def _upsert_entries(rng: random.Random, size: int, generation: int) -> dict:
    return {f"src/m{n // 100:05d}/f{n:07d}.ts": {"hash": f"{generation:08x}{n:056x}", "short": f"file {n}",
                                                 "detailed": f"Generation {generation} of file {n}.",
                                                 "important_symbols": [f"Symbol{n}"]}
            for n in rng.sample(range(size), BATCH)}


PAIRED = ("snapshot", "index_query", "index_upsert", "usage")


def measure(sizes: tuple[int, ...], rounds: int) -> dict:
    """Every family's best seconds (and the board's peak bytes) at each size, and, for the families whose
    rows belong to one installation, the largest size against a reference installation measured in
    alternating rounds (so drift in the machine's load hits both alike)."""
    common.reset_database()
    instance = tempfile.mkdtemp(prefix="seecodes-bench-growth-")
    app = _build_app(instance)
    engine = create_engine(common.DATABASE_URL)
    caller, reference = Caller(app, instance), Caller(app, instance)
    with engine.connect() as connection:
        pk, reference_pk = (connection.execute(text("SELECT id FROM installations WHERE installation_id = :i"),
                                               {"i": c.installation_id}).scalar_one() for c in (caller, reference))
    # The reference tenant keeps the small size: sizes[0] rows of history and usage, sizes[1] index entries
    # (the index target compares 1,000,000 entries with 100,000).
    _fill(engine, reference_pk, 0, sizes[0], ("history", "usage"))
    _fill(engine, reference_pk, 0, sizes[1], ("index",))
    sizes_of = {id(caller): None, id(reference): {"index": sizes[1]}}
    raw_url = common.DATABASE_URL.replace("postgresql+psycopg://", "postgresql://", 1)
    rng = random.Random(20261201)
    figures = {name: [] for name in ("board", "board_sql", "board_peak_bytes", "snapshot", "index_query",
                                     "index_upsert", "usage")}
    fill_seconds = []
    window = {"n": 0}
    generation = {"n": 0}

    def board():
        caller.jira("GET", "/v1/jira/team-competition", query_string={"startDate": MONTH[0], "endDate": MONTH[1]})

    def snapshot(who):
        # Each post is a new window after the earlier ones, 15 minutes long: what an IDE sends.
        window["n"] += 1
        started = 1_772_323_200 + 900 * window["n"]  # from 2026-03-01 00:00 UTC on (after the history, before April)
        who.task("POST", "/v1/tasks/activity-snapshot", json={
            "windowStartedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "windowEndedAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started + 900)),
            "humanActiveMs": 420000, "locAdded": 28, "locRemoved": 11, "logicChange": True})

    def index_query(who, size):
        who.task("POST", f"/v1/projects/{PROJECT}/indexes/query", json={"items": _index_items(rng, size)})

    def index_upsert(who, size):
        generation["n"] += 1
        who.task("POST", f"/v1/projects/{PROJECT}/indexes/upsert",
                 json={"entries": _upsert_entries(rng, size, generation["n"])})

    def usage(who):
        who.jira("GET", "/v1/jira/usage")

    def family(key, who, size):
        index_size = (sizes_of[id(who)] or {}).get("index", size)
        return {"snapshot": lambda: snapshot(who), "index_query": lambda: index_query(who, index_size),
                "index_upsert": lambda: index_upsert(who, index_size), "usage": lambda: usage(who)}[key]

    repeat = {"snapshot": 3, "index_query": 1, "index_upsert": 1, "usage": 3}
    paired = {}
    low = 0
    with psycopg.connect(raw_url) as connection:
        for size in sizes:
            fill_seconds.append(_fill(engine, pk, low, size))
            low = size
            with app.app_context():
                # Candidate and bare SQL alternate, so drift in the machine's load hits both alike.
                board_rounds = [(_best_seconds(board, 1, warmup=0),
                                 _best_seconds(lambda: _bare_board(connection, pk), 1, warmup=0))
                                for _ in range(BOARD_ROUNDS + 1)][1:]
                figures["board"].append(min(candidate for candidate, _ in board_rounds))
                figures["board_sql"].append(min(bare for _, bare in board_rounds))
                figures["board_peak_bytes"].append(_peak_bytes(board))
                for key in PAIRED:
                    figures[key].append(_best_seconds(family(key, caller, size), rounds * repeat[key]))
                if size == sizes[-1]:
                    for key in PAIRED:
                        small, large = family(key, reference, size), family(key, caller, size)
                        pairs = [(_best_seconds(small, 1, warmup=1), _best_seconds(large, 1, warmup=1))
                                 for _ in range(rounds * repeat[key])]
                        paired[key] = (min(a for a, _ in pairs), min(b for _, b in pairs))
            print(f"     growth: {size:,} rows per table measured (filled in {fill_seconds[-1]:.1f} s)", flush=True)
    engine.dispose()
    with app.app_context():
        from seecodes.extensions import db

        db.session.remove()
        db.engine.dispose()
    return {"sizes": list(sizes), "seconds": figures, "paired": paired, "fill_seconds": fill_seconds}


FAMILIES = [
    ("snapshot", "activity snapshot with N earlier windows of the task", FLAT, 0),
    # The target for indexes: 1,000,000 entries against 100,000 (1,000 paths of a 1,000-entry
    # project are the whole project, cached in a few pages: not the case a big tenant has).
    ("index_query", "index query of 1,000 paths against an N-entry project", FLAT, 1),
    ("index_upsert", "index upsert of 1,000 entries into an N-entry project", FLAT, 1),
    ("usage", "GET /v1/jira/usage with N usage rows", FLAT, 0),
]


def report(measured: dict) -> list[dict]:
    sizes, seconds = measured["sizes"], measured["seconds"]
    results = []
    for key, name, target, reference in FAMILIES:
        # Paired: alternating rounds against the reference installation, which keeps the reference size.
        small, large = measured["paired"][key]
        results.append(common.result(f"growth: {name} ({sizes[-1]:,} vs {sizes[reference]:,} rows, paired)",
                                     "seconds per op", small, large, f"<= {target:.2f}x", large <= target * small,
                                     curve=seconds[key]))
    board, bare = seconds["board"][-1], seconds["board_sql"][-1]
    results.append(common.result(f"growth: team competition over {sizes[-1]:,} snapshots vs its bare SQL",
                                 "seconds per op", bare, board, f"<= {BOARD_VS_SQL:.0f}x",
                                 board <= BOARD_VS_SQL * bare, curve=seconds["board"]))
    # From the second size on, both caps (2,000 items, 2,000 task summaries) are full: what is left to grow
    # is what the caps do not bound.
    peaks = seconds["board_peak_bytes"]
    results.append(common.result(f"growth: team competition peak Python memory ({sizes[-1]:,} vs {sizes[1]:,} "
                                 "snapshots, both caps full)", "bytes", peaks[1], peaks[-1], f"<= {MEMORY_FLAT}x",
                                 peaks[-1] <= MEMORY_FLAT * peaks[1], curve=peaks))
    return results


def plot(measured: dict, credentials: dict, path: Path = PLOT) -> None:
    """Each curve divided by its cost at the smallest size; the credential curves are the paired costs (the
    inverse of the throughput ratio against the fresh database, 1 at the smallest size, where both hold the
    same rows), at their own sizes (N spent request keys)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    sizes, seconds = measured["sizes"], measured["seconds"]
    figure, axes = pyplot.subplots(figsize=(9, 5.5))
    curves = [(sizes, seconds[key], name) for key, name, _, _ in FAMILIES] + [
        (sizes, seconds["board"], "team competition (a month of N snapshots)"),
        (sizes, seconds["board_sql"], "team competition's bare SQL"),
        (sizes, seconds["board_peak_bytes"], "team competition peak Python memory")]
    curves += [(credentials["sizes"], costs, name) for costs, name in growth_credentials.curves(credentials)]
    for xs, values, name in curves:
        axes.plot(xs, [value / values[0] for value in values], marker="o", label=name)
    axes.axhline(FLAT, color="grey", linestyle="--", linewidth=0.8, label=f"{FLAT}x (flat-curve target)")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("rows in the route's tables (N; spent request keys for the credential curves)")
    axes.set_ylabel("cost relative to the smallest size")
    axes.set_title("Growth: each route's cost against the installation's data")
    axes.grid(True, which="both", linewidth=0.3)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    pyplot.close(figure)


def run(quick: bool = False) -> list[dict]:
    measured = measure(QUICK_SIZES if quick else FULL_SIZES, rounds=7 if quick else 11)
    credentials = growth_credentials.measure(quick=quick)
    plot(measured, credentials)
    return report(measured) + growth_credentials.report(credentials)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.growth")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} instead of {FULL_SIZES}")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    for figure in results:
        print(f"{'ok  ' if figure['ok'] else 'MISS'} {figure['name']}: candidate {figure['candidate']:.4g}, "
              f"baseline {figure['baseline']:.4g} {figure['metric']}; ratio {figure['ratio']:.2f} "
              f"(target {figure['target']})", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0 if all(figure["ok"] for figure in results) else 1


if __name__ == "__main__":
    sys.exit(main())
