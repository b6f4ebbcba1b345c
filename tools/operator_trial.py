"""The production deployment tried as an operator would (issue "Production past one database connection pool"):
two gunicorn hosts and two `python -m seecodes.runs.worker` workers behind a PgBouncer in transaction pooling
mode, S3 on moto's server, Redis; runs driven through both hosts by clients that know only the contract, while
one worker is stopped as systemd stops it (SIGTERM to every process of its tree) and started again and the data
disk of one host is filled. At the end: no 5xx, no run left in a non-final status, and an exact credits ledger.

    .venv/bin/python tools/operator_trial.py [--seconds 60] [--clients 6]

Needs the local PostgreSQL and Redis (it uses database `operator_trial` and Redis db 11), Debian's pgbouncer, and
root for the small tmpfs of the filled disk (without it, that part is skipped and said so). Loopback only.
"""
import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SEECODES_BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/operator_trial")

import requests  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench import common  # noqa: E402
from tests.disks import small_filesystem  # noqa: E402
from tests.pgbouncer.bouncer import PgBouncer  # noqa: E402
from tests.production import descendants  # noqa: E402

APP_ID = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-00000000c0de"
INSTALLATION = f"ari:cloud:ecosystem::installation/{uuid.uuid4()}"
CLOUD_ID, PRINCIPAL, PROJECT = str(uuid.uuid4()), "557058:operator", "OPS"
CREDITS = 1_000_000
LIST_MD = b"# Tasks\n\n- [ ] one\n- [ ] two\n" * 20
FINAL = {"succeeded", "failed", "cancelled"}


class Tally:
    def __init__(self):
        self.lock, self.statuses, self.runs, self.errors = threading.Lock(), {}, [], []

    def saw(self, response):
        with self.lock:
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
        return response


def client(hosts, permit, tally, stop_at, index):
    """One IDE: init on one host, PUT the file to uploads[name], start on the other, poll until settled."""
    session, auth = requests.Session(), {"Authorization": f"Bearer {permit}"}
    rng = random.Random(index)
    while time.time() < stop_at:
        try:
            first, second = rng.sample(hosts, 2)
            init = tally.saw(session.post(f"{first}/v1/tasks/init", json={"model": "strict light"}, headers=auth,
                                          timeout=30))
            if init.status_code != 200:
                continue
            document = init.json()
            put = requests.put(document["uploads"]["list.md"], data=LIST_MD, timeout=30)
            if put.status_code != 200:
                tally.errors.append(f"upload {put.status_code}")
                continue
            start = tally.saw(session.post(f"{second}/v1/tasks/{document['runId']}/start", headers=auth, timeout=30,
                                           json={"model": "strict light", "userPrompt": "generate change log"}))
            if start.status_code != 200:
                continue
            with tally.lock:
                tally.runs.append(document["runId"])
            while time.time() < stop_at + 120:
                status = tally.saw(session.get(f"{rng.choice(hosts)}/v1/tasks/{document['runId']}", headers=auth,
                                               timeout=30))
                if status.status_code == 200 and status.json()["status"]["status"] in FINAL:
                    break
                time.sleep(0.2)
        except requests.RequestException as error:  # a host being restarted: counted, not fatal
            tally.errors.append(repr(error))


def worker(env, name):
    log = open(Path(env["SEECODES_INSTANCE_PATH"]) / f"{name}.log", "ab")
    return subprocess.Popen([sys.executable, "-m", "seecodes.runs.worker"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)


def systemd_stop(process, timeout=60):
    """KillMode=control-group: SIGTERM to every process of the unit at once, then wait."""
    for pid in [process.pid] + descendants(process.pid):
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    process.wait(timeout=timeout)
    return process.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args(argv)
    from moto.server import ThreadedMotoServer
    import boto3

    aws = {"AWS_ACCESS_KEY_ID": "trial", "AWS_SECRET_ACCESS_KEY": "trial", "AWS_DEFAULT_REGION": "us-east-1"}
    os.environ.update(aws)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    s3_url = "http://%s:%d" % moto.get_host_and_port()
    boto3.client("s3", endpoint_url=s3_url, region_name="us-east-1").create_bucket(Bucket="operator-trial")
    instance, env = common.prepare_app(APP_ID, "seecodes-trial-", REDIS_URL="redis://127.0.0.1:6379/11",
                                       SEECODES_STORAGE="s3", S3_ENDPOINT_URL=s3_url, S3_BUCKET="operator-trial",
                                       SEECODES_REAP_INTERVAL_SECONDS="5", SEECODES_RUN_STALE_SECONDS="20",
                                       SEECODES_LOG_LEVEL="WARNING", **aws)
    import redis

    redis.Redis.from_url("redis://127.0.0.1:6379/11").flushdb()
    folder = Path(tempfile.mkdtemp(prefix="seecodes-trial-pool-"))
    bouncer = PgBouncer(folder, {"trial": common.DATABASE_URL}, pool_size=4)
    pooled = f"postgresql+psycopg://postgres@127.0.0.1:{bouncer.port}/trial"
    env = {**env, "DATABASE_URL": pooled}
    subprocess.run([sys.executable, "-m", "flask", "--app", "wsgi", "installations", "create", "--installation-id",
                    INSTALLATION, "--cloud-id", CLOUD_ID, "--credits", str(CREDITS)], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    tally, outcome = Tally(), 0
    workers = [worker(env, "worker-1"), worker(env, "worker-2")]
    with small_filesystem(folder / "host-b-disk", size_kib=4096) as disk_b:
        host_b_env = {**env, "SEECODES_INSTANCE_PATH": str(disk_b)}
        with common.gunicorn("wsgi:app", env, common.free_port()) as host_a, \
                common.gunicorn("wsgi:app", host_b_env, common.free_port()) as host_b:
            hosts = [host_a, host_b]
            token = common.forge_token(instance, APP_ID, INSTALLATION, CLOUD_ID, PRINCIPAL)
            permit = common.mint_permit(host_a, token, PROJECT, "OPS-1", PRINCIPAL)
            stop_at = time.time() + args.seconds
            threads = [threading.Thread(target=client, args=(hosts, permit, tally, stop_at, i), daemon=True)
                       for i in range(args.clients)]
            for thread in threads:
                thread.start()
            time.sleep(args.seconds / 3)
            code = systemd_stop(workers[0])
            print(f"worker-1 stopped as systemd stops it (SIGTERM to its whole tree): exit {code}", flush=True)
            workers[0] = worker(env, "worker-1")
            filler = disk_b / "filler"
            subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
            health = requests.get(f"{host_b}/healthz", timeout=10).status_code
            print(f"host B's data disk filled ({os.statvfs(disk_b).f_bavail} blocks free): /healthz {health}",
                  flush=True)
            outcome |= health != 200
            for thread in threads:
                thread.join(timeout=args.seconds + 180)
            filler.unlink(missing_ok=True)
    deadline = time.time() + 120
    engine = create_engine(common.DATABASE_URL)
    while True:
        with engine.connect() as connection:
            open_runs = connection.execute(text("SELECT count(*) FROM runs WHERE status IN "
                                                "('queued', 'in_process', 'processing_remote')")).scalar_one()
        if open_runs == 0 or time.time() > deadline:
            break
        time.sleep(1)
    with engine.connect() as connection:
        by_status = dict(connection.execute(text("SELECT status, count(*) FROM runs GROUP BY status")).all())
        debits = connection.execute(text("SELECT coalesce(sum(credits), 0) FROM usage_rows WHERE type = 'task_run'"))\
            .scalar_one()
        refunds = connection.execute(text("SELECT coalesce(sum(credits), 0) FROM usage_rows WHERE type = 'refund'"))\
            .scalar_one()
        left = connection.execute(text("SELECT credits FROM installations WHERE installation_id = :i"),
                                  {"i": INSTALLATION}).scalar_one()
    engine.dispose()
    for process in workers:
        systemd_stop(process)
    bouncer.stop()
    moto.stop()
    server_errors = sum(count for status, count in tally.statuses.items() if status >= 500)
    print(f"runs started: {len(tally.runs)}; runs by status: {by_status}; answers by status: "
          f"{dict(sorted(tally.statuses.items()))}; client-side errors: {len(tally.errors)}", flush=True)
    exact = left == CREDITS - debits + refunds
    print(f"ledger: {CREDITS} - {debits} debited + {refunds} refunded = {CREDITS - debits + refunds}; "
          f"installation holds {left}: {'exact' if exact else 'NOT EXACT'}", flush=True)
    stuck = sum(by_status.get(s, 0) for s in ("queued", "in_process", "processing_remote"))
    print(f"5xx answers: {server_errors}; runs left in a non-final status: {stuck}", flush=True)
    return int(outcome or server_errors or stuck or not exact or not tally.runs)


if __name__ == "__main__":
    sys.exit(main())
