"""The contract holds on S3: a client that knows only the contract's fields (PUT the raw bytes to
`uploads[name]`, start, poll, output) runs a task on the production deployment (PostgreSQL, Redis, the RQ
worker subprocess, moto's S3 server), over HTTP with nothing but `requests`."""
import time

import pytest
import requests

from ..helpers import bearer
from .conftest import LIST_MD

pytestmark = pytest.mark.backends("production")


def test_a_contract_client_runs_a_task_on_s3_with_a_plain_put(served, permit, funded, production_worker):
    api = requests.Session()
    api.headers.update(bearer(permit))
    init = api.post(f"{served}/v1/tasks/init", json={"model": "strict light", "files": ["list.md"]}, timeout=10)
    assert init.status_code == 200, init.text
    run_id, uploads = init.json()["runId"], init.json()["uploads"]
    uploaded = requests.put(uploads["list.md"], data=LIST_MD, timeout=10)  # the "presigned upload URL"
    assert uploaded.status_code == 200, uploaded.text[:500]
    started = api.post(f"{served}/v1/tasks/{run_id}/start",
                       json={"model": "strict light", "userPrompt": "generate change log"}, timeout=10)
    assert started.status_code == 200 and started.json()["status"] == "queued", started.text
    deadline = time.monotonic() + 60
    while True:
        status = api.get(f"{served}/v1/tasks/{run_id}", timeout=10).json()["status"]
        if status["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert status["status"] == "succeeded", (status, production_worker.output())
    output = api.get(f"{served}/v1/tasks/{run_id}/output", timeout=10)
    assert output.status_code == 200 and "Callback validation" in output.text
    assert "succeeded" in api.get(f"{served}/v1/tasks/{run_id}/logs", timeout=10).text
    assert requests.get(status["resultZipUrl"], timeout=10).content[:2] == b"PK"


def test_the_init_answer_says_put_and_offers_the_post_form_as_an_extra(served, permit, funded):
    document = requests.post(f"{served}/v1/tasks/init", json={"model": "strict light"}, headers=bearer(permit),
                             timeout=10).json()
    assert document["uploadMethod"] == "PUT"
    form = document["uploadForms"]["list.md"]
    assert form["url"] != document["uploads"]["list.md"]  # the form posts to the bucket, the PUT names the key
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("list.md", LIST_MD)}, timeout=10)
    assert posted.status_code == 204
    started = requests.post(f"{served}/v1/tasks/{document['runId']}/start", json={}, headers=bearer(permit),
                            timeout=10)
    assert started.status_code == 200, started.text
