"""Log lines: JSON or text by configuration, the request id on each, and credentials redacted wherever they appear."""
import io
import json
import logging
import re

import pytest

from seecodes import logs, request_ids

PRESIGNED = ("https://bucket.s3.amazonaws.com/runs/run_1/input/list.md?X-Amz-Algorithm=AWS4-HMAC-SHA256"
             "&X-Amz-Credential=AKIAEXAMPLE%2F20261129%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261129T000000Z"
             "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=0123456789abcdef0123456789abcdef")
JWT = "eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJmb3JnZS9pbnZvY2F0aW9uLXRva2VuIn0.c2lnbmF0dXJlLXNpZ25hdHVyZS1zaWduYXR1cmU"


@pytest.mark.parametrize("line, secret", [
    ("GET /v1/launch?p=AUTH&t=AUTH-128&c=sc_launch_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "abcdefghijklmnop"),
    ("PUT /storage/runs/run_1/input/list.md?sig=eyJrIjoicnVucyJ9.awwzlw.15fX08zG35knC7O_GAPjBP2OgCo", "15fX08zG35knC7O"),
    (f"PUT {PRESIGNED}", "0123456789abcdef0123456789abcdef"),
    (f"PUT {PRESIGNED}", "AKIAEXAMPLE"),
    ("request key sc_jira_req_Zm9vYmFyYmF6cXV4cXV1eA refused", "Zm9vYmFyYmF6cXV4cXV1eA"),
    (f"Authorization: Bearer {JWT}", JWT),
    (f"token {JWT} expired", "c2lnbmF0dXJl"),
    ("provider said: invalid key sk-proj-abcdefghijklmnop", "abcdefghijklmnop"),
])
def test_credentials_are_redacted(line, secret):
    assert secret not in logs.redact(line)


@pytest.mark.parametrize("query", [
    # gunicorn's query atom has no leading "?"; itsdangerous starts a compressed token with "."
    "sig=.eJwNyEEKgCAQAMC_7NlDWkr5mWjbJQSp0PUU_b3mOA_gyZXSIgzxgdwylQLRWQX7QEoaDQTtHWBk7qfLoOkWCUcQaO3SQ.aUqX2w.15fX08zG35knC7O_GAPjBP2OgCo",
    "exp=1796000000&sig=.eJwNyEEKgCAQAMC_7NlDWkr5mWjbJQSp0PUU_b3mOA_gyZXSIgzxgdwylQLRWQX7QEoaDQTtHWBk7qfLoOkWCUcQaO3SQ.aUqX2w.15fX08zG35knC",
    "c=sc_launch_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG&p=AUTH",
])
def test_a_query_string_without_its_question_mark_is_redacted_whole(query):
    redacted = logs.redact(query)
    assert "[redacted]" in redacted and "eJwNyEEKgCAQ" not in redacted and "abcdefghijklmnop" not in redacted
    assert re.search(r"(?:^|&)(?:sig|c)=\[redacted\](?:&|$)", redacted), redacted


def test_known_secret_values_are_redacted_literally():
    assert logs.redact("key is s3cr3t-value-of-the-day", ("s3cr3t-value-of-the-day",)) == "key is [redacted]"


def test_harmless_text_is_left_alone():
    line = "GET /v1/jira/usage?limit=20 200 run_3f9c8a 12.5 credits"
    assert logs.redact(line) == line


def _emit(fmt, message, *args, exc=None):
    stream = io.StringIO()
    handler = logs.decorate(logging.StreamHandler(stream), fmt)
    logger = logging.getLogger("seecodes.test-logs")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning(message, *args, exc_info=exc)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_json_lines_carry_the_request_id_and_no_credential():
    with request_ids.bound("req-123"):
        line = _emit("json", "exchange of %s failed", "sc_launch_abcdefghijklmnopqrstuvwxyz")
    document = json.loads(line)
    assert document["request_id"] == "req-123" and document["level"] == "WARNING"
    assert document["message"] == "exchange of sc_launch_[redacted] failed"


def test_tracebacks_are_redacted_too():
    try:
        raise ValueError("bad permit eyJwIjoicG10XzEifQ.aww0UA.zcSkgwaV8721rGGxrz-rX10JerY")
    except ValueError as error:
        line = _emit("json", "failed", exc=error)
    assert "zcSkgwaV8721" not in line and "[redacted]" in json.loads(line)["exc_info"]


def test_text_lines_carry_the_request_id():
    with request_ids.bound("req-456"):
        assert "[req-456]" in _emit("text", "hello")


@pytest.mark.parametrize("environ, expected", [
    ({}, "text"),
    ({"DATABASE_URL": "postgresql://db/seecodes"}, "json"),
    ({"DATABASE_URL": "postgresql://db/seecodes", "SEECODES_LOG_FORMAT": "text"}, "text"),
    ({"SEECODES_LOG_FORMAT": "JSON"}, "json"),
])
def test_the_log_format_defaults_to_json_in_production(environ, expected):
    assert logs.log_format(environ) == expected


@pytest.mark.backends("sqlite")
def test_migrating_in_process_leaves_the_apps_loggers_enabled(app):
    """Alembic's env.py configures logging from alembic.ini; by default that disables every logger that
    exists already, so a process that migrated (a test session, an embedding app) lost the job's log lines."""
    import flask_migrate

    jobs = logging.getLogger("seecodes.runs.jobs")
    with app.app_context():
        flask_migrate.upgrade()
    assert not jobs.disabled
