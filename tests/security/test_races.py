"""One-shot credentials under real concurrency: parallel HTTP requests against a served app, exactly one winner."""
import pytest
import requests

from ..helpers import NEXT_KEY, REQUEST_KEY, VSCODE_LINK_EXAMPLE, pool_for, race, raced_statuses
from ..server import serve
from .conftest import jira_headers

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")

PARALLEL = 16
KEY_ROUNDS = {"postgresql": 20, "production": 10, "sqlite": 5}
CODE_ROUNDS = {"postgresql": 10, "production": 5, "sqlite": 3}
_outcomes = raced_statuses


@pytest.fixture
def app_overrides():
    return pool_for(PARALLEL)


def test_parallel_requests_with_one_key_have_exactly_one_winner(app, jira, backend):
    key = jira.bootstrap()
    with serve(app) as base:
        for round_number in range(KEY_ROUNDS[backend]):
            headers = [{**jira.auth(), REQUEST_KEY: key} for _ in range(PARALLEL)]
            results = race(PARALLEL, lambda i: requests.get(f"{base}/v1/instances/me", headers=headers[i], timeout=60))
            assert _outcomes(results) == [200] + [401] * (PARALLEL - 1), f"round {round_number}"
            losers = {r.json()["error"] for r in results if r.status_code == 401}
            assert losers == {"request_key_replayed"}
            (winner,) = [r for r in results if r.status_code == 200]
            key = winner.headers[NEXT_KEY]


def test_parallel_exchanges_of_one_code_have_exactly_one_winner(app, jira, backend):
    app.config["SEECODES_EXCHANGE_RATE_LIMIT"] = 10**6
    with serve(app) as base:
        for round_number in range(CODE_ROUNDS[backend]):
            task_id = f"AUTH-{round_number + 1}"
            link = jira.post("/v1/security/vscode-link", json={**VSCODE_LINK_EXAMPLE, "taskId": task_id,
                                                               "userAccountId": jira.principal})
            body = {"code": link.get_json()["launchCode"], "projectId": "AUTH", "taskId": task_id}
            results = race(PARALLEL, lambda i: requests.post(f"{base}/v1/security/launch-exchange", json=body,
                                                             timeout=60))
            assert _outcomes(results) == [200] + [401] * (PARALLEL - 1), f"round {round_number}"
            assert {r.json()["error"] for r in results if r.status_code == 401} == {"launch_code_replayed"}


def test_parallel_bootstraps_of_one_chain_leave_exactly_one_live_key(app, client, jira, backend):
    parallel = 8
    with serve(app) as base:
        for round_number in range(3):
            tokens = [jira.auth() for _ in range(parallel)]
            results = race(parallel, lambda i: requests.post(f"{base}/v1/jira/request-key",
                                                             json={"sessionId": "panel-1"},
                                                             headers=tokens[i], timeout=60))
            failures = [r for r in results if isinstance(r, Exception)]
            assert not failures, failures
            assert [r.status_code for r in results] == [200] * parallel, f"round {round_number}"
            keys = [r.json()["requestKey"] for r in results]
            working = [k for k in keys
                       if client.get("/v1/instances/me", headers=jira_headers(jira, k)).status_code == 200]
            assert len(working) == 1, f"round {round_number}: {len(working)} of {len(keys)} keys work"
