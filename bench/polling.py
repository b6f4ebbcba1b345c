"""Cheap polling: a conditional status poll answered 304 against the full status answer of the same route.

One gunicorn server on the bench database with S3 storage and Redis configured (a presigned URL needs no request to the
store), measured side by side by the same keep-alive client: a succeeded run, whose full answer carries a fresh
presigned `resultZipUrl`, is what a 304 spares (the target); an active run (no URL to sign) is reported beside it.
"""
import statistics
import uuid

from redis import Redis
from sqlalchemy import create_engine, text

from . import common
from .runs import REDIS_URL
from .http import APP_ID, PRINCIPAL, PROJECT, TASK, Client, _side_by_side, _token, insert_run

TARGET_RATIO = 1.5


def _finish(database_url: str, run_id: str) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE runs SET status = 'succeeded', output_key = :o, result_zip_key = :z, "
                                "finished_at = now(), updated_at = now() WHERE id = :id"),
                           {"id": run_id, "o": f"runs/{run_id}/result/output.md", "z": f"runs/{run_id}/result/result.zip"})
    engine.dispose()


def _pollers(url: str, path: str, permit: str, conditional: bool):
    def factory(_index):
        client = Client(url)
        headers = {"Authorization": f"Bearer {permit}"}
        if conditional:
            response, _ = client.request("GET", path, headers)
            headers = {**headers, "If-None-Match": response.getheader("ETag")}
        expect = 304 if conditional else 200
        return lambda: client.request("GET", path, headers, expect=expect)

    return factory


def run(quick: bool = False) -> list[dict]:
    processes, seconds, rounds = (2, 1.5, 1) if quick else (4, 2.5, 6)
    s3 = {"SEECODES_STORAGE": "s3", "S3_BUCKET": "seecodes-bench", "S3_ENDPOINT_URL": "http://127.0.0.1:9",
          "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
    # As deployed: with Redis, where a conditional poll of an unchanged run finds its tag (seecodes/poll_tags.py);
    # the full answers of the baseline never touch it.
    instance, env = common.prepare_app(APP_ID, "seecodes-bench-poll-", REDIS_URL=REDIS_URL, **s3)
    Redis.from_url(REDIS_URL).flushdb()
    results = []
    with common.gunicorn("wsgi:app", env, common.free_port()) as url:
        permit = common.mint_permit(url, _token(instance), PROJECT, TASK, PRINCIPAL)
        settled, active = insert_run(env["DATABASE_URL"]), insert_run(env["DATABASE_URL"])
        _finish(env["DATABASE_URL"], settled)
        for label, run_id, targeted in (("succeeded run (full answer signs its resultZipUrl)", settled, True),
                                        ("active run (nothing to sign)", active, False)):
            path = f"/v1/tasks/{run_id}"
            candidate, baseline = _side_by_side(_pollers(url, path, permit, True), _pollers(url, path, permit, False),
                                                processes, seconds, rounds)
            ratio = statistics.median(candidate["round_ratios"])
            results.append(common.result(
                f"304 poll vs full status answer of GET /v1/tasks/{{runId}}, {label}", "requests per second",
                baseline["rps"], candidate["rps"], f">= {TARGET_RATIO:.1f}x the full answer" if targeted else
                "reported", ratio >= TARGET_RATIO if targeted else True, connections=processes, ratio=ratio,
                round_ratios=[round(r, 3) for r in candidate["round_ratios"]],
                latency_ms={"candidate": {"p50": candidate["p50_ms"], "p99": candidate["p99_ms"]},
                            "baseline": {"p50": baseline["p50_ms"], "p99": baseline["p99_ms"]}}))
    return results
