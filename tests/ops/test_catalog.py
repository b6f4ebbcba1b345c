"""The catalog an operator configured survives restarts; the default model's provider comes from SEECODES_AI_*."""
import json
import logging

import pytest
from sqlalchemy import select

from seecodes.catalog import service as catalog
from seecodes.catalog.models import CatalogModel
from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs.models import Run

OPERATOR_CATALOG = {"models": [{"id": "strict light", "name": "strict light", "maxContext": 64000,
                                "description": "Our own", "pricing": {"base": 1, "per_token": 0.0001},
                                "provider": "openai", "providerConfig": {"baseUrl": "http://ai.internal/v1",
                                                                          "model": "llama3", "apiKeyEnv": "OUR_KEY"}}]}


@pytest.fixture
def operator_file(tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(OPERATOR_CATALOG))
    return path


def seed(app, *args):
    result = app.test_cli_runner().invoke(args=["models", "seed", *args])
    assert result.exit_code == 0, result.output
    return result.output


def strict_light(app):
    with app.app_context():
        model = db.session.get(CatalogModel, "strict light")
        db.session.remove()
        return model


def test_an_operators_entries_survive_a_restart(app, operator_file):
    seed(app, "--file", str(operator_file), "--update")
    assert strict_light(app).provider == "openai"
    output = seed(app)  # what make run / make worker do at every start
    assert "0 created, 0 updated" in output
    model = strict_light(app)
    assert (model.provider, model.max_context, model.provider_config["model"]) == ("openai", 64000, "llama3")


def test_seed_without_update_keeps_existing_entries(app, operator_file):
    output = seed(app, "--file", str(operator_file))
    assert "0 updated" in output and "--update" in output
    assert strict_light(app).provider == "default"


def test_seed_reads_the_configured_catalog_file(app, operator_file):
    """SEECODES_CATALOG_FILE, as the app read it from the environment (tests/ops/test_settings.py)."""
    document = {"models": [{**OPERATOR_CATALOG["models"][0], "id": "deep"}]}
    operator_file.write_text(json.dumps(document))
    app.config["SEECODES_CATALOG_FILE"] = str(operator_file)
    assert "1 created" in seed(app)
    assert "deep" in {m["id"] for m in app.test_client().get("/v1/models").get_json()["models"]}


def test_a_missing_catalog_file_is_refused(app, tmp_path):
    app.config["SEECODES_CATALOG_FILE"] = str(tmp_path / "nope.json")
    result = app.test_cli_runner().invoke(args=["models", "seed"])
    assert result.exit_code != 0 and "does not exist" in result.output


def test_an_invalid_file_writes_nothing(app, tmp_path):
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps({"models": [{**OPERATOR_CATALOG["models"][0], "id": "fine"}, {"id": "broken"}]}))
    result = app.test_cli_runner().invoke(args=["models", "seed", "--file", str(path)])
    assert result.exit_code != 0
    with app.app_context():
        assert db.session.get(CatalogModel, "fine") is None


def test_models_says_when_the_offline_provider_serves_a_model(client, monkeypatch):
    monkeypatch.delenv("SEECODES_AI_BASE_URL", raising=False)
    description = client.get("/v1/models").get_json()["models"][0]["description"]
    assert description.startswith("Fast, high-context strict tasks") and "offline provider" in description


def test_the_default_model_uses_the_ai_service_of_the_environment(client, monkeypatch):
    monkeypatch.setenv("SEECODES_AI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SEECODES_AI_MODEL", "gpt-4o-mini")
    assert client.get("/v1/models").get_json()["models"][0]["description"] == "Fast, high-context strict tasks"


def test_a_run_of_the_default_model_calls_the_configured_service_and_records_its_tokens(
        app, runs, funded, served, fake_openai, monkeypatch):
    monkeypatch.setenv("SEECODES_AI_BASE_URL", f"{fake_openai.url}/ok/v1")
    monkeypatch.setenv("SEECODES_AI_MODEL", "fake-ok")
    monkeypatch.setenv("SEECODES_AI_API_KEY", "sk-ops-test-key-123456")
    seen = len(fake_openai.requests)
    run_id = runs.started()
    assert runs.wait(run_id)["status"] == "succeeded"
    call = fake_openai.requests[seen]
    assert call["body"]["model"] == "fake-ok" and call["headers"]["Authorization"] == "Bearer sk-ops-test-key-123456"
    with app.app_context():
        run = db.session.get(Run, run_id)
        usage = db.session.execute(select(UsageRow).where(UsageRow.run_id == run_id)).scalar_one()
        assert (run.input_tokens, run.output_tokens) == (321, 12)
        assert (usage.input_tokens, usage.output_tokens) == (321, 12)


def test_production_start_up_warns_about_offline_models(app, backend, caplog, monkeypatch):
    # alembic's fileConfig (the in-process migrations of the fixtures) disables loggers that existed before it
    monkeypatch.setattr(logging.getLogger("seecodes.catalog.service"), "disabled", False)
    with app.app_context(), caplog.at_level(logging.WARNING, logger="seecodes.catalog.service"):
        catalog.warn_if_offline_in_production(app)
    warned = any("offline provider" in record.getMessage() for record in caplog.records)
    assert warned == (backend == "postgresql")
