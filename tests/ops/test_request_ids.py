"""X-Request-ID: generated or taken from a trusted proxy, echoed, in every error body and carried into the run."""
import logging
import re

import pytest
from sqlalchemy import select

from seecodes import request_ids
from seecodes.extensions import db
from seecodes.logs import RequestIdFilter
from seecodes.runs import dispatch
from seecodes.runs.models import Run

HEX_ID = re.compile(r"[0-9a-f]{32}")


def test_every_response_carries_a_generated_request_id(client):
    first, second = client.get("/healthz"), client.get("/healthz")
    assert HEX_ID.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


def test_error_bodies_carry_the_request_id_of_their_response(client):
    response = client.get("/v1/instances/me")
    body = response.get_json()
    assert response.status_code == 401 and body["ok"] is False
    assert body["requestId"] == response.headers["X-Request-ID"]


def test_unknown_routes_and_validation_errors_carry_it_too(client):
    missing = client.get("/no/such/route")
    assert missing.status_code == 404 and missing.get_json()["requestId"] == missing.headers["X-Request-ID"]
    invalid = client.post("/v1/security/launch-exchange", json={"code": 7})
    assert invalid.status_code == 422 and invalid.get_json()["requestId"] == invalid.headers["X-Request-ID"]


def test_a_client_cannot_choose_its_request_id_without_a_trusted_proxy(client):
    response = client.get("/healthz", headers={"X-Request-ID": "chosen-by-client"})
    assert response.headers["X-Request-ID"] != "chosen-by-client"


@pytest.mark.parametrize("app_overrides", [{"SEECODES_TRUSTED_PROXIES": 1}])
def test_a_trusted_proxys_request_id_is_kept(client):
    response = client.get("/v1/instances/me", headers={"X-Request-ID": "lb-7f3a:42"})
    assert response.headers["X-Request-ID"] == "lb-7f3a:42"
    assert response.get_json()["requestId"] == "lb-7f3a:42"


@pytest.mark.parametrize("app_overrides", [{"SEECODES_TRUSTED_PROXIES": 1}])
@pytest.mark.parametrize("presented", ["a b", "x" * 129, "quote\"d", "", "é"])
def test_a_malformed_proxy_request_id_is_replaced(client, presented):
    response = client.get("/healthz", headers={"X-Request-ID": presented.encode("utf-8").decode("latin-1")})
    assert HEX_ID.fullmatch(response.headers["X-Request-ID"])


def test_choose_rules():
    assert request_ids.choose("abc", trust_proxy=True) == "abc"
    assert request_ids.choose("abc", trust_proxy=False) != "abc"
    assert HEX_ID.fullmatch(request_ids.choose(None, trust_proxy=True))


class Collecting(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.records = []
        self.addFilter(RequestIdFilter())

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def seecodes_records():
    handler, logger = Collecting(), logging.getLogger("seecodes")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield handler.records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_the_run_remembers_the_request_that_started_it_and_its_job_logs_with_it(app, runs, funded, served,
                                                                               seecodes_records):
    run_id, _ = runs.prepared()
    started = runs.start(run_id)
    assert started.status_code == 200
    assert runs.wait(run_id)["status"] == "succeeded"
    dispatch.shutdown(app)
    request_id = started.headers["X-Request-ID"]
    with app.app_context():
        assert db.session.execute(select(Run.request_id).where(Run.id == run_id)).scalar_one() == request_id
    job_lines = [record for record in seecodes_records if run_id in record.getMessage()]
    assert job_lines and all(record.request_id == request_id for record in job_lines)
