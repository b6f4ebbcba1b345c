"""S3 faults and limits, against moto's server: storage that cannot be used answers 503 `storage_unavailable` with
what to fix at init; uploads are presigned PUTs, with presigned POSTs whose policy bounds the size beside them; an
oversized object (a PUT has no size bound) is deleted at start; an upload after start cannot make the run cost
more."""
import base64
import json

import boto3
import pytest
from botocore.exceptions import ClientError

from seecodes.storage import s3

from .conftest import LIST_MD, S3_BUCKET, WorkerProcess, production_overrides

LIMIT = 4096


@pytest.fixture
def backend():
    return "postgresql"


@pytest.fixture
def app_overrides(moto_url, redis_db):
    return production_overrides(moto_url, SEECODES_MAX_UPLOAD_BYTES=LIMIT, SEECODES_RUN_QUEUE="runs-storage")


@pytest.fixture(autouse=True)
def fresh_clients():
    s3.forget_clients()
    yield
    s3.forget_clients()


def policy(form) -> dict:
    return json.loads(base64.b64decode(form["fields"]["policy"]))


def exists(moto_url, key) -> bool:
    try:
        boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1").head_object(Bucket=S3_BUCKET, Key=key)
        return True
    except ClientError:
        return False


def test_init_offers_a_presigned_post_bounded_to_the_upload_limit_beside_the_put_url(runs, funded):
    document = runs.init().get_json()
    run_id = document["runId"]
    form = document["uploadForms"]["list.md"]
    assert document["uploadMethod"] == "PUT" and document["uploads"]["list.md"] != form["url"]
    assert form["fields"]["key"] == f"runs/{run_id}/input/list.md"
    conditions = policy(form)["conditions"]
    assert ["content-length-range", 0, LIMIT] in conditions
    assert {"key": f"runs/{run_id}/input/list.md"} in conditions
    assert runs.post_form(document, "list.md", LIST_MD).status_code == 204
    assert runs.start(run_id).status_code == 200


def test_an_oversized_upload_is_refused_at_start_and_deleted(runs, funded, moto_url, credits_of):
    document = runs.init().get_json()
    run_id = document["runId"]
    assert runs.send(document, "list.md", b"x" * (LIMIT + 1)).status_code == 200  # a presigned PUT has no limit
    answer = runs.start(run_id)
    assert answer.status_code == 413 and answer.get_json()["error"] == "upload_too_large"
    assert not exists(moto_url, f"runs/{run_id}/input/list.md")
    assert credits_of(funded) == 1000
    assert runs.send(document, "list.md", LIST_MD).status_code == 200  # the run can still be started
    assert runs.start(run_id).status_code == 200


def test_s3_without_credentials_is_503_storage_unavailable_at_init(runs, funded, monkeypatch, tmp_path):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    answer = runs.init()
    assert answer.status_code == 503 and answer.get_json()["error"] == "storage_unavailable"
    assert "AWS_ACCESS_KEY_ID" in answer.get_json()["detail"]


def test_a_missing_bucket_is_503_storage_unavailable_at_init(app, runs, funded):
    app.config["S3_BUCKET"] = "no-such-bucket"
    answer = runs.init()
    assert answer.status_code == 503 and answer.get_json()["error"] == "storage_unavailable"
    assert "The S3 bucket 'no-such-bucket' does not exist" in answer.get_json()["detail"]
    assert "create it, or set S3_BUCKET" in answer.get_json()["detail"]


@pytest.mark.slow
def test_an_upload_after_start_cannot_make_the_run_cost_more(runs, funded, moto_url, tmp_path, credits_of):
    run_id, document = runs.prepared()
    assert runs.start(run_id).status_code == 200
    assert runs.send(document, "list.md", b"y" * LIMIT).status_code == 200  # a larger file, within the limit
    burst = WorkerProcess(tmp_path, moto_url, burst=True, SEECODES_RUN_QUEUE="runs-storage")
    assert burst.process.wait(timeout=60) == 0, burst.output()
    burst.stop()
    status = runs.status(run_id).get_json()["status"]
    assert status["status"] == "failed" and "inputs changed after the run was started" in status["error"]
    assert credits_of(funded) == 1000
