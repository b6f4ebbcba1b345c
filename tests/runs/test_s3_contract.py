"""The contract holds on S3: a client that knows only the contract's fields (PUT the raw bytes to
`uploads[name]`, start, poll, output) runs a task on the production deployment (moto's S3 server)."""
import time

import pytest
import requests

from ..helpers import bearer
from .conftest import LIST_MD

pytestmark = pytest.mark.backends("production")


def contract_run(client, permit, data: bytes) -> tuple[str, dict]:
    """init, then PUT to uploads[name] with nothing but `requests`: no uploadMethod, no uploadForms."""
    answer = client.post("/v1/tasks/init", json={"model": "strict light", "files": ["list.md"]},
                         headers=bearer(permit))
    assert answer.status_code == 200, answer.get_json()
    document = answer.get_json()
    uploaded = requests.put(document["uploads"]["list.md"], data=data, timeout=10)
    assert uploaded.status_code in (200, 201, 204), uploaded.text[:500]
    return document["runId"], document


def test_a_contract_client_runs_a_task_on_s3_with_a_plain_put(client, permit, funded, production_worker):
    run_id, document = contract_run(client, permit, LIST_MD)
    assert document["uploadMethod"] == "PUT"
    started = client.post(f"/v1/tasks/{run_id}/start", json={"model": "strict light",
                                                             "userPrompt": "generate change log"},
                          headers=bearer(permit))
    assert started.status_code == 200, started.get_json()
    deadline = time.monotonic() + 60
    while True:
        status = client.get(f"/v1/tasks/{run_id}", headers=bearer(permit)).get_json()["status"]
        if status["status"] in ("succeeded", "failed") or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert status["status"] == "succeeded", (status, production_worker.output())
    output = client.get(f"/v1/tasks/{run_id}/output", headers=bearer(permit))
    assert output.status_code == 200 and "Callback validation" in output.text
    assert requests.get(status["resultZipUrl"], timeout=10).content[:2] == b"PK"


def test_the_presigned_post_form_stays_available_as_an_optional_extra(client, permit, funded):
    document = client.post("/v1/tasks/init", json={"model": "strict light"}, headers=bearer(permit)).get_json()
    form = document["uploadForms"]["list.md"]
    assert form["url"] != document["uploads"]["list.md"]  # the POST form's URL is the bucket, not the PUT URL
    posted = requests.post(form["url"], data=form["fields"], files={"file": ("list.md", LIST_MD)}, timeout=10)
    assert posted.status_code == 204
    assert client.post(f"/v1/tasks/{document['runId']}/start", json={}, headers=bearer(permit)).status_code == 200

