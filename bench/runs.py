"""End-to-end run overhead vs a no-op RQ job round trip, on PostgreSQL + Redis + one RQ worker subprocess.

Baseline: enqueue a no-op job on the run queue and poll its status until it is finished.
Candidate: the IDE's whole run with the offline provider: init, upload (local storage served by gunicorn),
start, the worker's job, polling GET /v1/tasks/{runId} until succeeded, then GET …/output.
Both go through the same `python -m seecodes.runs.worker` process and poll at the same interval; rounds
alternate so drift in the machine's load hits both alike. The figure is the median seconds per round trip.
"""
import json
import os
import statistics
import subprocess
import time
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

from redis import Redis
from rq import Queue
from rq.job import JobStatus

from . import common, http

REDIS_URL = os.environ.get("SEECODES_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-0000000be4c5"
INSTALLATION_ID = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
CLOUD_ID = str(uuid.uuid4())
PRINCIPAL = "557058:bench"
POLL_SECONDS = 0.005
# Before each round trip, the worker has finished what it does between jobs (opening and warming the next
# work horse's connection): neither side waits for the other's aftermath.
SETTLE_SECONDS = 0.05
TARGET_RATIO = 3.0
ROUNDS_OF_FIVE, ROUNDS_TARGET_RATIO = 5, 2.5
LIST_MD = (b"# Release\n\n- [x] Protected-route wrapper is live\n- [ ] Callback validation\n"
           b"TODO: cover the identity provider payload\n") * 20


def noop() -> None:
    """The baseline job: nothing at all."""


def _run_round_trip(client: http.Client, auth: dict, phases: dict | None = None) -> float:
    """One run, timed; with `phases`, also the wall-clock moment (epoch seconds) each step ended.
    The client is bench.http's keep-alive http.client connection, as in every HTTP benchmark here (an IDE's
    HTTP client costs the service nothing; Python's requests would add ~0.6 ms of client CPU per request on
    the same two cores)."""
    marks = {"began": time.time()}
    began = time.perf_counter()
    init = json.loads(client.request("POST", "/v1/tasks/init", auth, {"model": "strict light"})[1])
    marks["init"] = time.time()
    upload = urlsplit(init["uploads"]["list.md"])
    client.request("PUT", f"{upload.path}?{upload.query}", {}, data=LIST_MD)
    marks["upload"] = time.time()
    run_id = init["runId"]
    client.request("POST", f"/v1/tasks/{run_id}/start", auth,
                   {"model": "strict light", "userPrompt": "generate change log"})
    marks["start"] = time.time()
    polls = 0
    while True:
        status = json.loads(client.request("GET", f"/v1/tasks/{run_id}", auth)[1])["status"]["status"]
        polls += 1
        if status == "succeeded":
            break
        if status == "failed":
            raise RuntimeError(f"bench run {run_id} failed")
        time.sleep(POLL_SECONDS)
    marks["seen succeeded"] = time.time()
    client.request("GET", f"/v1/tasks/{run_id}/output", auth)
    marks["output"] = time.time()
    elapsed = time.perf_counter() - began
    if phases is not None:
        phases.setdefault("polls", []).append(polls)
        logged = client.request("GET", f"/v1/tasks/{run_id}/logs", auth)[1].decode().splitlines()
        for line in logged:  # the job's own steps, by the log's timestamps
            stamp, _, rest = line.partition(" ")
            step = rest.split(":", 1)[0]
            moment = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
            marks.setdefault(f"job {step}", moment)
        ordered = sorted(marks.items(), key=lambda item: item[1])
        for (_, before), (name, after) in zip(ordered, ordered[1:]):
            phases.setdefault(name, []).append(after - before)
    return elapsed


def _noop_round_trip(queue: Queue) -> float:
    began = time.perf_counter()
    job = queue.enqueue(noop, result_ttl=60)
    while True:
        status = job.get_status()
        if status == JobStatus.FINISHED:
            break
        if status == JobStatus.FAILED:
            raise RuntimeError("the no-op job failed")
        time.sleep(POLL_SECONDS)
    return time.perf_counter() - began


def _start_worker(env: dict) -> subprocess.Popen:
    return subprocess.Popen([common.PYTHON, "-m", "seecodes.runs.worker"], cwd=common.ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def run(quick: bool = False, phases: dict | None = None) -> list[dict]:
    """With `phases`, also collects where each run's time goes (printed by `python -m bench.runs --phases`)."""
    rounds, warmup = (10, 2) if quick else (40, 5)
    port = common.free_port()
    queue_name = f"bench-runs-{uuid.uuid4().hex[:8]}"  # a queue of its own: nothing else touches it
    instance, env = common.prepare_app(
        APP_ID, "seecodes-bench-runs-", REDIS_URL=REDIS_URL, SEECODES_RUN_QUEUE=queue_name,
        SEECODES_STORAGE="local", SEECODES_PUBLIC_BASE_URL=f"http://127.0.0.1:{port}", SEECODES_LOG_LEVEL="WARNING")
    common.flask_cli(env, "installations", "create", "--installation-id", INSTALLATION_ID, "--cloud-id", CLOUD_ID,
                     "--credits", "100000000")
    connection = Redis.from_url(REDIS_URL)
    queue = Queue(queue_name, connection=connection)
    worker = _start_worker(env)
    try:
        with common.gunicorn("wsgi:app", env, port) as base_url:
            client = http.Client(base_url)
            token = common.forge_token(instance, APP_ID, INSTALLATION_ID, CLOUD_ID, PRINCIPAL)
            auth = {"Authorization": f"Bearer {common.mint_permit(base_url, token, 'BENCH', 'BENCH-1', PRINCIPAL)}"}
            baseline, candidate = [], []
            for index in range(warmup + rounds):
                if worker.poll() is not None:
                    raise RuntimeError(f"worker exited: {worker.stderr.read().decode()[-2000:]}")
                time.sleep(SETTLE_SECONDS)
                noop_seconds = _noop_round_trip(queue)
                time.sleep(SETTLE_SECONDS)
                run_seconds = _run_round_trip(client, auth, phases if index >= warmup else None)
                if index >= warmup:
                    baseline.append(noop_seconds)
                    candidate.append(run_seconds)
    finally:
        common.stop_process(worker)
        queue.delete(delete_jobs=True)
    baseline_median, candidate_median = statistics.median(baseline), statistics.median(candidate)
    # The same pairs cut into 5 consecutive rounds: the median of the rounds' ratios must hold with margin.
    size = len(candidate) // ROUNDS_OF_FIVE
    ratios = [statistics.median(candidate[i * size:(i + 1) * size]) / statistics.median(baseline[i * size:(i + 1) * size])
              for i in range(ROUNDS_OF_FIVE)]
    median_of_rounds = statistics.median(ratios)
    return [
        common.result("run end-to-end overhead vs no-op RQ job", "seconds per round trip", baseline_median,
                      candidate_median, "< 3x", candidate_median / baseline_median < TARGET_RATIO, rounds=rounds),
        common.result("run end-to-end overhead, median of 5 rounds", "ratio of medians per round", 1.0,
                      median_of_rounds, f"<= {ROUNDS_TARGET_RATIO}x", median_of_rounds <= ROUNDS_TARGET_RATIO,
                      round_ratios=ratios),
    ]


def main() -> None:
    """`python -m bench.runs [--quick]`: the run benchmark plus the median time of each phase of a run."""
    import sys

    from bench import runs  # not __main__: RQ workers cannot import functions from __main__

    phases: dict = {}
    for figure in runs.run(quick="--quick" in sys.argv, phases=phases):
        print(figure)
    for name, values in phases.items():
        unit = "" if name == "polls" else " ms"
        scale = 1 if name == "polls" else 1000
        print(f"{name:>24}: median {scale * statistics.median(values):.1f}{unit}")


if __name__ == "__main__":
    main()
