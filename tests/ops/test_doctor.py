"""`flask doctor`: a table of checks with the fix for each failure; exit 1 when one fails."""
import pytest

from seecodes import doctor

GOOD_KEY = "a-long-random-secret-key-for-the-doctor-tests-0123456789"


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["doctor", *args])


# SECRET_KEY_SOURCE: what seecodes.settings.from_environ records for a key given in SEECODES_SECRET_KEY.
@pytest.mark.parametrize("app_overrides", [{"SECRET_KEY": GOOD_KEY, "SECRET_KEY_SOURCE": "SEECODES_SECRET_KEY",
                                            "SEECODES_METRICS_TOKEN": "t" * 32}])
def test_a_good_configuration_passes(app):
    result = invoke(app)
    assert result.exit_code == 0, result.output
    assert "0 failed" in result.output
    for name in ("settings", "database", "migrations", "redis", "storage", "forge jwks", "secret key",
                 "public url", "model 'strict light'"):
        assert name in result.output


@pytest.mark.parametrize("app_overrides", [{"SECRET_KEY": "short", "FORGE_JWKS_URL": "/nonexistent/jwks.json",
                                            "SEECODES_PUBLIC_BASE_URL": "http://seecodes.example.com"}])
def test_a_broken_configuration_fails_with_fixes(app):
    result = invoke(app)
    assert result.exit_code == 1
    rows = {result.name: result for result in doctor.run_checks(app)}
    assert rows["secret key"].status == doctor.FAIL and "SEECODES_SECRET_KEY" in rows["secret key"].fix
    assert rows["forge jwks"].status == doctor.FAIL and "FORGE_JWKS_URL" in rows["forge jwks"].fix
    assert rows["public url"].status == doctor.FAIL and "https" in rows["public url"].fix
    assert rows["database"].status == doctor.PASS
    assert "fix: " in result.output and "3 failed" in result.output


def test_an_unmigrated_database_fails(app):
    from sqlalchemy import text

    from seecodes.extensions import db

    with app.app_context():
        db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
        db.session.commit()
    rows = {result.name: result for result in doctor.run_checks(app)}
    assert rows["migrations"].status == doctor.FAIL and "db upgrade" in rows["migrations"].fix


@pytest.mark.parametrize("app_overrides", [{"REDIS_URL": "redis://127.0.0.1:1/0"}])
def test_an_unreachable_redis_fails(app):
    rows = {result.name: result for result in doctor.run_checks(app)}
    assert rows["redis"].status == doctor.FAIL and "REDIS_URL" in rows["redis"].fix


def test_a_provider_without_its_api_key_fails(app, monkeypatch):
    monkeypatch.setenv("SEECODES_AI_BASE_URL", "http://127.0.0.1:1/v1")
    monkeypatch.setenv("SEECODES_AI_MODEL", "gpt-4o-mini")
    monkeypatch.delenv("SEECODES_AI_API_KEY", raising=False)
    from seecodes.catalog.models import CatalogModel
    from seecodes.extensions import db

    with app.app_context():
        db.session.add(CatalogModel(id="keyed", name="keyed", description="", max_context=1000, pricing_base=1,
                                    pricing_per_token=0.1, provider="openai", position=5,
                                    provider_config={"baseUrl": "http://127.0.0.1:1/v1", "model": "m",
                                                     "apiKeyEnv": "SEECODES_DOCTOR_MISSING_KEY"}))
        db.session.commit()
    rows = {result.name: result for result in doctor.run_checks(app)}
    assert rows["model 'keyed'"].status == doctor.FAIL
    assert "SEECODES_DOCTOR_MISSING_KEY" in rows["model 'keyed'"].detail
    assert rows["model 'strict light'"].status == doctor.PASS  # a keyless local server (Ollama) is fine


def test_online_calls_each_provider(app, monkeypatch):
    monkeypatch.setenv("SEECODES_AI_BASE_URL", "http://127.0.0.1:1/v1")  # nothing listens there
    monkeypatch.setenv("SEECODES_AI_MODEL", "gpt-4o-mini")
    rows = {result.name: result for result in doctor.run_checks(app, online=True)}
    assert rows["model 'strict light'"].status == doctor.FAIL
    assert "connection failed" in rows["model 'strict light'"].detail


def test_online_passes_against_an_answering_provider(app, monkeypatch, fake_openai):
    monkeypatch.setenv("SEECODES_AI_BASE_URL", f"{fake_openai.url}/ok/v1")
    monkeypatch.setenv("SEECODES_AI_MODEL", "fake-ok")
    rows = {result.name: result for result in doctor.run_checks(app, online=True)}
    assert rows["model 'strict light'"].status == doctor.PASS, rows["model 'strict light'"]


def test_production_without_its_own_secret_key_fails(app):
    assert app.config["SECRET_KEY_SOURCE"].endswith("secret_key")  # generated into the instance folder
    app.config["SECRET_KEY"] = GOOD_KEY
    app.config["SQLALCHEMY_DATABASE_URI"] = "postgresql+psycopg://db/seecodes"  # read by the rule, not connected
    result = doctor.check_secret_key(app)[0]
    assert result.status == doctor.FAIL and "every host" in result.fix
