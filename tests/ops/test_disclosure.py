"""What the service tells whom: anonymous /readyz gets status and reason codes only, a tenant's run log never names
the provider's URL, and every URL that doctor or a log line prints has its password masked."""
import io
import logging

import pytest

from seecodes import doctor, logs

from ..runs.conftest import add_model  # noqa: F401  (shared fixture)
from .conftest import METRICS_TOKEN

DETAILED = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def test_anonymous_readyz_answers_status_only(client):
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json() == {"ok": True}


def test_readyz_with_the_metrics_token_answers_every_check(client):
    document = client.get("/readyz", headers=DETAILED).get_json()
    assert document["ok"] is True and {"database", "storage", "queue"} <= set(document["checks"])
    assert "detail" in document["checks"]["storage"]


def test_a_wrong_token_gets_the_anonymous_answer(client):
    assert client.get("/readyz", headers={"Authorization": "Bearer nope"}).get_json() == {"ok": True}


def test_anonymous_not_ready_names_reason_codes_not_the_setup(app, client, tmp_path):
    blocked = tmp_path / "file"
    blocked.write_text("")
    app.config["SEECODES_STORAGE_DIR"] = str(blocked / "storage")  # under a file: cannot be created
    answer = client.get("/readyz")
    body = answer.get_json()
    assert answer.status_code == 503 and body["error"] == "not_ready"
    assert body["reasons"] == ["storage_unusable"]
    assert str(tmp_path) not in answer.get_data(as_text=True)
    detailed = client.get("/readyz", headers=DETAILED)
    assert detailed.status_code == 503 and str(blocked) in detailed.get_json()["detail"]
    assert detailed.get_json()["checks"]["storage"]["reason"] == "storage_unusable"


@pytest.mark.parametrize("url, masked", [
    ("postgresql://seecodes:s3cr3t@db:5432/x", "postgresql://seecodes:***@db:5432/x"),
    ("redis://:hunter22@cache:6379/0", "redis://:***@cache:6379/0"),
    ("https://AKIA:wJalr%2Fx@minio.internal:9000", "https://AKIA:***@minio.internal:9000"),
    ("calling http://u:p4ss@h/v1 and s3://k:v@b", "calling http://u:***@h/v1 and s3://k:***@b"),
    ("http://user@host/ no password", "http://user@host/ no password"),
])
def test_the_one_masking_helper(url, masked):
    assert logs.mask_url_credentials(url) == masked


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_every_log_line_masks_url_credentials(fmt):
    stream = io.StringIO()
    handler = logs.decorate(logging.StreamHandler(stream), fmt)
    logger = logging.getLogger("seecodes.tests.disclosure")
    logger.addHandler(handler)
    try:
        logger.warning("storage at %s failed", "http://minio:topsecretpw@10.0.0.5:9000")
    finally:
        logger.removeHandler(handler)
    assert "topsecretpw" not in stream.getvalue() and "minio:***@10.0.0.5" in stream.getvalue()


@pytest.mark.parametrize("app_overrides", [{"SEECODES_STORAGE": "s3", "S3_BUCKET": "b",
                                            "S3_ENDPOINT_URL": "http://minio:topsecretpw@127.0.0.1:9"}])
def test_doctor_masks_the_s3_endpoint_password(app):
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert "topsecretpw" not in result.output
    assert "minio:***@127.0.0.1:9" in result.output


@pytest.mark.backends("sqlite")
def test_doctor_masks_a_provider_url(app, add_model):  # noqa: F811
    add_model("masked", config={"baseUrl": "http://bob:providerpw@127.0.0.1:9/v1", "model": "m"})
    result = app.test_cli_runner().invoke(args=["doctor"])
    assert "providerpw" not in result.output and "bob:***@127.0.0.1:9" in result.output
    rows = {row.name: row for row in doctor.run_checks(app)}
    assert "providerpw" not in rows["model 'masked'"].detail


def test_a_tenants_run_log_never_names_the_provider_url(runs, served, funded, add_model, fake_openai):  # noqa: F811
    model = add_model("fake url", config=fake_openai.config("ok"))
    run_id = runs.started(model=model)
    assert runs.wait(run_id)["status"] == "succeeded"
    text = runs.logs(run_id).text
    assert "openai-compatible" in text and "fake-ok" in text
    assert fake_openai.url not in text and "127.0.0.1" not in text
