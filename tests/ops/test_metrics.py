"""GET /metrics: Prometheus series of requests, refusals, runs, providers and credits, behind a bearer token."""
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ..helpers import REQUEST_KEY
from .conftest import scrape


def samples(response) -> dict:
    """name{label=value,...} -> value, for every sample of the exposition."""
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    wanted = ",".join(f"{k}={v}" for k, v in sorted(labels.items()))
    return found.get(f"{name}{{{wanted}}}", 0.0)


def test_metrics_need_the_bearer_token(client):
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.get_json()["error"] == "metrics_token_invalid"
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    wrong = scrape(client, token="not-the-token")
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "metrics_token_invalid"
    assert scrape(client).status_code == 200


@pytest.mark.parametrize("app_overrides", [{"SEECODES_METRICS_TOKEN": None}])
def test_metrics_are_disabled_without_a_token(client, monkeypatch):
    monkeypatch.delenv("SEECODES_METRICS_TOKEN", raising=False)
    response = scrape(client)
    assert response.status_code == 404 and response.get_json()["error"] == "metrics_disabled"


def test_metrics_are_not_in_the_openapi_document(client):
    assert "/metrics" not in client.get("/openapi.json").get_json()["paths"]


def test_metrics_after_a_handshake_and_a_run(client, jira, runs, funded, served):
    before = samples(scrape(client))
    jira.launch()
    stale = jira.key
    jira.get("/v1/instances/me")
    replay = client.get("/v1/instances/me", headers={**jira.auth(), REQUEST_KEY: stale})
    assert replay.status_code == 401 and replay.get_json()["error"] == "request_key_replayed"
    run_id = runs.started()
    assert runs.wait(run_id)["status"] == "succeeded"

    response = scrape(client)
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = samples(response)
    grew = lambda name, **labels: value(after, name, **labels) > value(before, name, **labels)  # noqa: E731
    assert grew("seecodes_http_requests_total", route="/v1/security/launch-exchange", method="POST", status="200")
    assert grew("seecodes_http_requests_total", route="/v1/tasks/<run_id:runId>/start", method="POST", status="200")
    assert grew("seecodes_http_request_duration_seconds_count", route="/v1/security/vscode-link", method="POST")
    assert grew("seecodes_credential_refusals_total", code="request_key_replayed")
    assert grew("seecodes_errors_total", status="401", code="request_key_replayed")
    assert grew("seecodes_run_transitions_total", source="initialized", target="queued")
    assert grew("seecodes_run_transitions_total", source="processing_remote", target="succeeded")
    assert grew("seecodes_run_job_duration_seconds_count", outcome="finished")
    assert grew("seecodes_provider_request_duration_seconds_count", model="strict light", provider="offline")
    assert grew("seecodes_provider_tokens_total", model="strict light", direction="output")
    assert grew("seecodes_credits_debited_total")
    assert value(after, "seecodes_runs", status="queued") == 0
    assert value(after, "seecodes_run_queue_oldest_age_seconds") == 0
    for name in ("seecodes_credits_refunded_total", "seecodes_reaper_actions_total", "seecodes_rate_limit_refusals_total",
                 "seecodes_provider_retries_total", "seecodes_provider_errors_total"):
        assert f"# TYPE {name} counter" in response.get_data(as_text=True)


def test_a_rolled_back_debit_is_not_counted(client, runs, jira, served):
    jira.bootstrap()  # no credits: start answers 402 and rolls the transition and the debit back
    run_id, _ = runs.prepared()
    before = samples(scrape(client))
    answer = runs.start(run_id)
    assert answer.status_code == 402 and answer.get_json()["error"] == "insufficient_credits"
    after = samples(scrape(client))
    assert value(after, "seecodes_credits_debited_total") == value(before, "seecodes_credits_debited_total")
    assert value(after, "seecodes_run_transitions_total", source="initialized", target="queued") == \
        value(before, "seecodes_run_transitions_total", source="initialized", target="queued")


def test_queue_gauges_report_the_oldest_queued_run(app, client, runs, funded, served):
    from seecodes import clock
    from datetime import timedelta

    app.config["SEECODES_RUN_THREADS"] = 1
    from seecodes.runs import dispatch

    dispatch.shutdown(app)
    # A queued run that no executor takes: queue it, then make it look 2 minutes old.
    run_id, _ = runs.prepared()
    from seecodes.extensions import db
    from seecodes.runs import state
    from seecodes.runs.models import QUEUED, INITIALIZED

    with app.app_context():
        state.move(run_id, INITIALIZED, QUEUED, queued_at=clock.now() - timedelta(minutes=2))
        db.session.commit()
    found = samples(scrape(client))
    assert value(found, "seecodes_runs", status="queued") == 1
    assert 110 <= value(found, "seecodes_run_queue_oldest_age_seconds") <= 600
