"""Project-index cost vs the bare SQL it needs, on PostgreSQL, measured side by side in one run.

(a) a query of 1,000 paths against a 100,000-entry project index: the service function (the same call the
    route makes, with its commit) vs hand-written psycopg statements fetching the same rows;
(b) an upsert of 1,000 entries: the service function (lock row, count, bulk INSERT … ON CONFLICT, totals,
    commit) vs one hand-written INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE and its commit.
Rounds alternate candidate and baseline so drift in the machine's load hits both alike; the figure is the
median seconds per operation.
"""
import json
import os
import random
import statistics
import tempfile
import time
import uuid

import psycopg
from sqlalchemy import create_engine, text

from . import common

PROJECT = "BENCH"
INDEX_SIZE = 100_000
BATCH = 1_000
TARGET = "<= 3x"
TARGET_RATIO = 3.0
METRIC = "seconds per op"
ENTRY_COLUMNS = ("hash", "updated_at_ms", "short", "detailed", "important_symbols", "dependencies", "exports")


def _path(n: int) -> str:
    return f"src/module{n // 100:04d}/file{n:06d}.ts"


def _hash(n: int, generation: int = 0) -> str:
    return f"{generation:08x}{n:056x}"


def _entry(n: int, generation: int) -> dict:
    return {
        "hash": _hash(n, generation),
        "updatedAt": 1_710_000_000_000 + generation,
        "short": f"Summary of file {n}",
        "detailed": f"Longer explanation of what file {n} does and how it fits the module. " * 4,
        "important_symbols": [f"Symbol{n}A", f"Symbol{n}B", f"Symbol{n}C"],
        "dependencies": [_path(n + 1), _path(n + 2)],
        "exports": [f"Symbol{n}A", f"Symbol{n}B"],
    }


def _build_app(url: str):
    """The real app on the bench database, its schema built by the migrations."""
    import flask_migrate

    from seecodes import create_app

    os.environ["SEECODES_INSTANCE_PATH"] = tempfile.mkdtemp(prefix="seecodes-bench-indexes-")
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-secret-key", "REDIS_URL": None})
    finally:
        os.environ.pop("SEECODES_INSTANCE_PATH", None)
    with app.app_context():
        flask_migrate.upgrade()
    return app


def _seed(url: str) -> int:
    """One installation and a 100,000-entry index, written with set-based SQL (not what is measured)."""
    engine = create_engine(url)
    with engine.begin() as connection:
        installation_pk = connection.execute(text(
            "INSERT INTO installations (installation_id, status, credits, api_key_prefix, license_active, dev_mode, "
            "activation_source, billing_mode, created_at, updated_at) "
            "VALUES (:ins, 'active', 0, 'av_inst_bench', false, false, 'bench', 'forge', now(), now()) RETURNING id"),
            {"ins": f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"}).scalar_one()
        connection.execute(text(
            "INSERT INTO project_index_entries (installation_pk, project_id, path, hash, updated_at_ms, short, "
            "detailed, important_symbols, dependencies, exports) "
            "SELECT :pk, :p, 'src/module' || lpad((i / 100)::text, 4, '0') || '/file' || lpad(i::text, 6, '0') || '.ts', "
            "lpad(to_hex(i), 64, '0'), 1710000000000, 'Summary of file ' || i, "
            "repeat('Longer explanation of what file ' || i || ' does. ', 4), "
            "jsonb_build_array('Symbol' || i || 'A', 'Symbol' || i || 'B'), '[]'::jsonb, "
            "jsonb_build_array('Symbol' || i || 'A') FROM generate_series(0, :n - 1) AS i"),
            {"pk": installation_pk, "p": PROJECT, "n": INDEX_SIZE})
        connection.execute(text(
            "INSERT INTO project_indexes (installation_pk, project_id, total_files, updated_at_ms) "
            "VALUES (:pk, :p, :n, 1710000000000)"), {"pk": installation_pk, "p": PROJECT, "n": INDEX_SIZE})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE project_index_entries"))
    engine.dispose()
    return installation_pk


def _query_items(rng: random.Random) -> list[tuple[str, str]]:
    """900 unchanged files, 50 edited files whose new content exists elsewhere, 50 moved files."""
    chosen = rng.sample(range(INDEX_SIZE), BATCH)
    items = [(_path(n), _hash(n)) for n in chosen[:900]]
    items += [(_path(n), _hash(rng.randrange(INDEX_SIZE))) for n in chosen[900:950]]
    items += [(f"moved/{_path(n)}", _hash(n)) for n in chosen[950:]]
    return items


QUERY_PATHS_SQL = ("SELECT path, hash, updated_at_ms, short, detailed, important_symbols, dependencies, exports "
                   "FROM project_index_entries WHERE installation_pk = %s AND project_id = %s AND path = ANY(%s)")
QUERY_HASHES_SQL = ("SELECT DISTINCT ON (hash) path, hash, updated_at_ms, short, detailed, important_symbols, "
                    "dependencies, exports FROM project_index_entries "
                    "WHERE installation_pk = %s AND project_id = %s AND hash = ANY(%s) ORDER BY hash, path")
UPDATED_AT_SQL = "SELECT updated_at_ms FROM project_indexes WHERE installation_pk = %s AND project_id = %s"
UPSERT_SQL = (
    "INSERT INTO project_index_entries (installation_pk, project_id, path, hash, updated_at_ms, short, detailed, "
    "important_symbols, dependencies, exports) "
    "SELECT %s, %s, u.path, u.hash, u.updated_at_ms, u.short, u.detailed, u.symbols::jsonb, u.deps::jsonb, "
    "u.exports::jsonb FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], %s::text[], %s::text[], "
    "%s::text[], %s::text[]) AS u(path, hash, updated_at_ms, short, detailed, symbols, deps, exports) "
    "ON CONFLICT (installation_pk, project_id, path) DO UPDATE SET hash = EXCLUDED.hash, "
    "updated_at_ms = EXCLUDED.updated_at_ms, short = EXCLUDED.short, detailed = EXCLUDED.detailed, "
    "important_symbols = EXCLUDED.important_symbols, dependencies = EXCLUDED.dependencies, "
    "exports = EXCLUDED.exports")


def _baseline_query(connection, installation_pk: int, items: list[tuple[str, str]]) -> int:
    """The statements a query needs: rows at the paths, the first row per hash, the index's updatedAt."""
    with connection.cursor() as cursor:
        cursor.execute(QUERY_PATHS_SQL, (installation_pk, PROJECT, [path for path, _ in items]))
        same_path = {row[0]: row[1] for row in cursor.fetchall()}
        unmatched = sorted({digest for path, digest in items if same_path.get(path) != digest})
        cursor.execute(QUERY_HASHES_SQL, (installation_pk, PROJECT, unmatched))
        found = len(cursor.fetchall())
        cursor.execute(UPDATED_AT_SQL, (installation_pk, PROJECT))
        cursor.fetchone()
    connection.commit()
    return found


def _baseline_upsert(connection, installation_pk: int, entries: dict[str, dict]) -> None:
    values = list(entries.values())
    columns = [
        list(entries),
        [e["hash"] for e in values],
        [e["updatedAt"] for e in values],
        [e["short"] for e in values],
        [e["detailed"] for e in values],
        [json.dumps(e["important_symbols"]) for e in values],
        [json.dumps(e["dependencies"]) for e in values],
        [json.dumps(e["exports"]) for e in values],
    ]
    with connection.cursor() as cursor:
        cursor.execute(UPSERT_SQL, (installation_pk, PROJECT, *columns))
    connection.commit()


def _timed(function, *args) -> float:
    started = time.perf_counter()
    function(*args)
    return time.perf_counter() - started


def run(quick: bool = False) -> list[dict]:
    rounds = 5 if quick else 25
    common.reset_database()
    url = common.DATABASE_URL
    app = _build_app(url)
    installation_pk = _seed(url)
    rng = random.Random(20260404)

    from seecodes.extensions import db
    from seecodes.indexes import service

    def candidate_query(items):
        service.query(installation_pk, PROJECT, items)
        db.session.commit()

    def candidate_upsert(entries):
        service.upsert(installation_pk, PROJECT, entries, [])
        db.session.commit()

    # Separate path sets so neither side writes rows the other then only updates.
    upsert_paths = {"candidate": rng.sample(range(INDEX_SIZE), BATCH), "baseline": rng.sample(range(INDEX_SIZE), BATCH)}
    measured = {"query": {"candidate": [], "baseline": []}, "upsert": {"candidate": [], "baseline": []}}
    raw_url = url.replace("postgresql+psycopg://", "postgresql://", 1)
    with app.app_context(), psycopg.connect(raw_url) as connection:
        for generation in range(rounds + 1):  # round 0 warms caches and connections; not counted
            items = _query_items(rng)
            entries = {side: {_path(n): _entry(n, generation + 1) for n in upsert_paths[side]}
                       for side in upsert_paths}
            figures = {
                "query": {"candidate": _timed(candidate_query, items),
                          "baseline": _timed(_baseline_query, connection, installation_pk, items)},
                "upsert": {"candidate": _timed(candidate_upsert, entries["candidate"]),
                           "baseline": _timed(_baseline_upsert, connection, installation_pk, entries["baseline"])},
            }
            if generation:
                for kind, sides in figures.items():
                    for side, seconds in sides.items():
                        measured[kind][side].append(seconds)
        db.session.remove()
        db.engine.dispose()
    names = {
        "query": f"index query of {BATCH:,} paths against a {INDEX_SIZE:,}-entry index vs bare SQL",
        "upsert": f"index upsert of {BATCH:,} entries vs bare INSERT … ON CONFLICT",
    }
    results = []
    for kind, name in names.items():
        candidate = statistics.median(measured[kind]["candidate"])
        baseline = statistics.median(measured[kind]["baseline"])
        results.append(common.result(name, METRIC, baseline, candidate, TARGET,
                                     candidate <= TARGET_RATIO * baseline, rounds=rounds))
    return results


if __name__ == "__main__":
    for figure in run(quick=os.environ.get("BENCH_QUICK") == "1"):
        print(figure)
