"""Credential overhead under gunicorn: permit-authenticated run polling and Jira-side routes vs minimal Flask.

Both servers run with the same gunicorn.conf.py against the same PostgreSQL database, measured side by
side in one run by the same multi-process keep-alive client (one key chain per client connection).
"""
import http.client
import json
import statistics
import uuid

from sqlalchemy import create_engine, text

from . import common

APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000be4c4"
INSTALLATION_ID = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
CLOUD_ID = str(uuid.uuid4())
PRINCIPAL = "557058:bench"
PROJECT, TASK = "BENCH", "BENCH-1"
TARGET_RATIO = 0.8


class Client:
    """One keep-alive connection that raises on any unexpected answer."""

    def __init__(self, base_url: str):
        host, port = base_url.removeprefix("http://").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=30)

    def request(self, method: str, path: str, headers: dict, body: dict | None = None, expect: int = 200,
                data: bytes | None = None):
        """`body` is sent as JSON, `data` as it is."""
        payload = json.dumps(body).encode() if body is not None else data
        if body is not None:
            headers = {**headers, "Content-Type": "application/json"}
        self.connection.request(method, path, body=payload, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        if response.status != expect:
            raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
        return response, data


def _token(instance: str) -> str:
    return common.forge_token(instance, APP_ID, INSTALLATION_ID, CLOUD_ID, PRINCIPAL)


def _bootstrap(client: Client, token: str, session_id: str) -> str:
    _, data = client.request("POST", "/v1/jira/request-key", {"Authorization": f"Bearer {token}"},
                             {"sessionId": session_id})
    return json.loads(data)["requestKey"]


def _prepare(env: dict, instance: str, candidate_url: str) -> tuple[str, str]:
    """Provision the installation, mint a task permit through the API and store one run row."""
    permit = common.mint_permit(candidate_url, _token(instance), PROJECT, TASK, PRINCIPAL)
    return permit, insert_run(env["DATABASE_URL"])


def insert_run(database_url: str) -> str:
    """One queued run row of the bench's installation, project and task; answers its id."""
    run_id = f"run_{uuid.uuid4().hex[:24]}"
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO runs (id, installation_pk, project_id, task_id, user_account_id, model_id, files, "
                 "storage_prefix, status, attempts, requeues, created_at, updated_at) "
                 "SELECT :id, i.id, :p, :t, :u, 'strict light', '[\"list.md\"]', 'bench/', 'queued', 0, 0, now(), now() "
                 "FROM installations i WHERE i.installation_id = :ins"),
            {"id": run_id, "p": PROJECT, "t": TASK, "u": PRINCIPAL, "ins": INSTALLATION_ID},
        )
    engine.dispose()
    return run_id


def _permit_clients(url: str, path: str, permit: str):
    def factory(_index):
        client = Client(url)
        headers = {"Authorization": f"Bearer {permit}"}
        return lambda: client.request("GET", path, headers)

    return factory


def _jira_clients(url: str, path: str, candidate_url: str, instance: str, label: str):
    def factory(index):
        token = _token(instance)
        state = {"key": _bootstrap(Client(candidate_url), token, f"{label}-{index}-{uuid.uuid4().hex[:6]}")}
        client = Client(url)

        def step():
            response, _ = client.request("GET", path, {"Authorization": f"Bearer {token}",
                                                       "X-SeeCodes-Jira-Request-Key": state["key"]})
            state["key"] = response.getheader("X-SeeCodes-Next-Request-Key")

        return step

    return factory


def _side_by_side(candidate, baseline, processes, seconds, rounds, threads=1) -> tuple[dict, dict]:
    """Alternate candidate and baseline rounds so drift in the machine's load hits both alike.

    Answers, per side, the median throughput of the rounds and the p50 / p99 latency over all their requests;
    the candidate's summary also has the ratio of each round to the baseline round right after it.
    """
    measured = {"candidate": [], "baseline": []}
    for _ in range(rounds):
        measured["candidate"].append(common.load(candidate, processes, seconds, threads=threads))
        measured["baseline"].append(common.load(baseline, processes, seconds, threads=threads))

    def summary(loads):
        latencies = [x for one in loads for x in one["latencies"]]
        return {"rps": statistics.median(one["rps"] for one in loads),
                "p50_ms": 1000 * common.percentile(latencies, 0.50), "p99_ms": 1000 * common.percentile(latencies, 0.99)}

    candidate_summary = summary(measured["candidate"])
    candidate_summary["round_ratios"] = [c["rps"] / b["rps"] for c, b in zip(measured["candidate"], measured["baseline"])]
    return candidate_summary, summary(measured["baseline"])


def run(quick: bool = False) -> list[dict]:
    # The machine's speed drifts by tens of percent over seconds (a shared VM): many short rounds, each paired
    # with the baseline round right after it, and the median of those ratios (15 s per side in all).
    processes, seconds, rounds = (2, 1.5, 1) if quick else (4, 2.5, 6)
    instance, env = common.prepare_app(APP_ID, "seecodes-bench-", REDIS_URL="")
    results = []
    with common.gunicorn("wsgi:app", env, common.free_port()) as candidate_url, \
            common.gunicorn("bench.minimal_app:app", env, common.free_port()) as baseline_url:
        permit, run_id = _prepare(env, instance, candidate_url)
        permit_candidate = _permit_clients(candidate_url, f"/v1/tasks/{run_id}", permit)
        permit_baseline = _permit_clients(baseline_url, f"/baseline/runs/{run_id}", permit)
        results.append(_throughput_result("permit GET /v1/tasks/{runId} vs minimal Flask route", *_side_by_side(
            permit_candidate, permit_baseline, processes, seconds, rounds), connections=processes))
        results.append(_throughput_result(
            "Jira GET /v1/instances/me (RS256 + key rotation) vs minimal Flask route", *_side_by_side(
                _jira_clients(candidate_url, "/v1/instances/me", candidate_url, instance, "candidate"),
                _jira_clients(baseline_url, "/baseline/jira", candidate_url, instance, "baseline"),
                processes, seconds, rounds), connections=processes))
        # Scaling with connections: 16 independent key chains (4 processes x 4 threads, one chain and one
        # keep-alive connection each), and the permit route on 64 keep-alive connections (4 x 16).
        results.append(_throughput_result(
            "Jira GET /v1/instances/me, 16 independent key chains, vs minimal Flask route", *_side_by_side(
                _jira_clients(candidate_url, "/v1/instances/me", candidate_url, instance, "candidate16"),
                _jira_clients(baseline_url, "/baseline/jira", candidate_url, instance, "baseline16"),
                processes, seconds, rounds, threads=16 // processes), connections=16))
        results.append(_throughput_result(
            "permit GET /v1/tasks/{runId}, 64 keep-alive connections, vs minimal Flask route", *_side_by_side(
                permit_candidate, permit_baseline, processes, seconds, rounds, threads=64 // processes),
            connections=64))
    return results


def _throughput_result(name: str, candidate: dict, baseline: dict, connections: int) -> dict:
    ratio = statistics.median(candidate["round_ratios"])
    return common.result(name, "requests per second", baseline["rps"], candidate["rps"],
                         f">= {TARGET_RATIO:.0%} of baseline", ratio >= TARGET_RATIO, connections=connections,
                         ratio=ratio, round_ratios=[round(r, 3) for r in candidate["round_ratios"]],
                         latency_ms={"candidate": {"p50": candidate["p50_ms"], "p99": candidate["p99_ms"]},
                                     "baseline": {"p50": baseline["p50_ms"], "p99": baseline["p99_ms"]}})
