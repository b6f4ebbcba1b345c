"""The OpenAI-compatible provider against a local fake server: success, retries, failure and timeout."""
import pytest

from ..contract_examples import RUN_START_EXAMPLE as EXAMPLE_START

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")


@pytest.fixture
def model(add_model, fake_openai):
    fake_openai.seen.clear()

    def make(mode, **config):
        return add_model(f"fake {mode}", config=fake_openai.config(mode, **config))

    return make


def test_an_openai_compatible_server_serves_the_run(runs, served, funded, model, fake_openai):
    run_id = runs.started(model=model("ok"))
    assert runs.wait(run_id)["status"] == "succeeded"
    assert runs.output(run_id).text == "# Change log\n\nmodel fake-ok\n"
    request = fake_openai.requests[-1]
    assert request["path"] == "/ok/v1/chat/completions" and request["body"]["model"] == "fake-ok"
    assert request["headers"]["Authorization"] == "Bearer sk-test-secret-do-not-log"
    assert EXAMPLE_START["userPrompt"] in request["body"]["messages"][1]["content"]
    assert "321 input tokens, 12 output tokens" in runs.logs(run_id).text


def test_a_5xx_is_retried(runs, served, funded, model):
    run_id = runs.started(model=model("flaky"))
    assert runs.wait(run_id)["status"] == "succeeded"
    assert "provider attempt 1/3 failed: HTTP 500" in runs.logs(run_id).text


def test_a_failing_provider_fails_the_run_and_refunds(runs, served, funded, model, credits_of, usage_of):
    run_id = runs.started(model=model("fail"))
    status = runs.wait(run_id)
    assert status["status"] == "failed" and "after 3 attempt(s): HTTP 500" in status["error"]
    assert credits_of(funded) == 1000
    charged = usage_of(run_id)[0][1]
    assert [(kind, credits) for kind, credits, *_ in usage_of(run_id)] == [("task_run", charged), ("refund", charged)]


def test_a_provider_timeout_fails_the_run_and_refunds(runs, served, funded, model, credits_of):
    run_id = runs.started(model=model("slow", timeoutSeconds=0.2, maxRetries=0))
    status = runs.wait(run_id)
    assert status["status"] == "failed" and "no answer within 0.2 s" in status["error"]
    assert credits_of(funded) == 1000


def test_logs_never_contain_the_api_key(runs, served, funded, model):
    run_id = runs.started(model=model("fail"))
    runs.wait(run_id)
    assert "sk-test-secret" not in runs.logs(run_id).text


def test_a_missing_api_key_variable_fails_the_run(runs, served, funded, model):
    run_id = runs.started(model=model("ok", apiKeyEnv="SEECODES_TEST_UNSET_KEY"))
    status = runs.wait(run_id)
    assert status["status"] == "failed" and "SEECODES_TEST_UNSET_KEY is not set" in status["error"]
