"""The Flask CLI of DESIGN.md: installations, model catalog seeding, Forge dev keys and tokens."""
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from seecodes.catalog.models import CatalogModel
from seecodes.extensions import db
from seecodes.forge import dev
from seecodes.installations import service as installations

from ..conftest import new_installation_id
from ..helpers import REQUEST_KEY, bearer


@pytest.fixture
def cli(app):
    runner = app.test_cli_runner()

    def invoke(*args):
        return runner.invoke(args=list(args))

    return invoke


@pytest.fixture
def fresh_installation_id():
    """An installation ARI the backend has not seen yet."""
    return new_installation_id()


def _installation(in_app, installation_id):
    def read():
        row = installations.get_by_installation_id(installation_id)
        return None if row is None else (row.site_cloud_id, row.site_url, row.credits, row.activation_source)

    return in_app(read)


def test_installations_create_inserts_the_installation(cli, in_app, fresh_installation_id):
    result = cli("installations", "create", "--installation-id", fresh_installation_id, "--cloud-id", "site-1",
                 "--site-url", "https://Tenant.atlassian.net/", "--credits", "7")
    assert result.exit_code == 0, result.output
    assert _installation(in_app, fresh_installation_id) == ("site-1", "https://tenant.atlassian.net", 7, "cli")


def test_installations_create_refuses_a_duplicate(cli, fresh_installation_id):
    cli("installations", "create", "--installation-id", fresh_installation_id, "--cloud-id", "site-1")
    result = cli("installations", "create", "--installation-id", fresh_installation_id, "--cloud-id", "site-1")
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_installations_create_refuses_a_malformed_installation_id(cli, in_app):
    result = cli("installations", "create", "--installation-id", "not-an-ari", "--cloud-id", "site-1")
    assert result.exit_code != 0
    assert _installation(in_app, "not-an-ari") is None


def test_a_created_installation_is_the_tenant_of_its_forge_tokens(cli, client, signer, fresh_installation_id):
    cli("installations", "create", "--installation-id", fresh_installation_id, "--cloud-id", "site-1", "--credits", "9")
    token = signer.token(fresh_installation_id, "site-1", "557058:alice")
    key = client.post("/v1/jira/request-key", json={}, headers=bearer(token)).get_json()["requestKey"]
    me = client.get("/v1/instances/me", headers={**bearer(signer.token(fresh_installation_id, "site-1", "557058:alice")),
                                                 REQUEST_KEY: key})
    assert me.get_json()["credits"] == 9


def test_installations_grant_credits_adds_to_the_balance(cli, in_app, fresh_installation_id):
    cli("installations", "create", "--installation-id", fresh_installation_id, "--cloud-id", "site-1", "--credits", "2")
    result = cli("installations", "grant-credits", "--cloud-id", fresh_installation_id, "--credits", "40")
    assert result.exit_code == 0, result.output
    assert _installation(in_app, fresh_installation_id)[2] == 42


def test_installations_grant_credits_finds_the_installation_by_site_cloud_id(cli, in_app, fresh_installation_id):
    cli("installations", "create", "--installation-id", fresh_installation_id, "--cloud-id", "site-1")
    assert cli("installations", "grant-credits", "--cloud-id", "site-1", "--credits", "5").exit_code == 0
    assert _installation(in_app, fresh_installation_id)[2] == 5


def test_installations_grant_credits_refuses_an_unknown_installation(cli):
    result = cli("installations", "grant-credits", "--cloud-id", "nobody", "--credits", "5")
    assert result.exit_code != 0
    assert "nobody" in result.output


@pytest.mark.parametrize("credits", ["0", "-3", "many"])
def test_installations_grant_credits_refuses_a_non_positive_amount_and_keeps_the_balance(cli, in_app,
                                                                                        fresh_installation_id,
                                                                                        credits):
    cli("installations", "create", "--installation-id", fresh_installation_id, "--cloud-id", "site-1", "--credits", "7")
    assert cli("installations", "grant-credits", "--cloud-id", "site-1", "--credits", credits).exit_code != 0
    assert _installation(in_app, fresh_installation_id)[2] == 7


def test_models_seed_is_idempotent(cli, in_app):
    count = lambda: db.session.execute(select(func.count()).select_from(CatalogModel)).scalar_one()  # noqa: E731
    before = in_app(count)
    first, second = cli("models", "seed"), cli("models", "seed")
    assert first.exit_code == 0 and second.exit_code == 0
    assert "0 created" in second.output
    assert in_app(count) == before == 1


def test_models_seed_serves_strict_light(cli, client):
    cli("models", "seed")
    assert [m["id"] for m in client.get("/v1/models").get_json()["models"]] == ["strict light"]


def test_models_seed_reads_a_catalog_file(cli, client, tmp_path):
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": [{"id": "deep", "maxContext": 200000, "description": "Slow, thorough",
                                               "pricing": {"base": 20, "per_token": 0.001}, "provider": "offline"}]}))
    assert cli("models", "seed", "--file", str(catalog)).exit_code == 0
    assert {m["id"] for m in client.get("/v1/models").get_json()["models"]} == {"strict light", "deep"}


def test_models_seed_refuses_an_invalid_catalog(cli, tmp_path):
    catalog = tmp_path / "catalog.json"
    catalog.write_text(json.dumps({"models": [{"id": "broken"}]}))
    result = cli("models", "seed", "--file", str(catalog))
    assert result.exit_code != 0
    assert "invalid catalog" in result.output


def test_forge_dev_keys_writes_a_private_key_and_its_jwks(app, cli):
    result = cli("forge", "dev-keys")
    assert result.exit_code == 0, result.output
    folder = Path(app.instance_path)
    assert (folder / dev.KEY_FILE).stat().st_mode & 0o077 == 0
    jwks = json.loads((folder / dev.JWKS_FILE).read_text())
    assert [(k["kty"], k["alg"]) for k in jwks["keys"]] == [("RSA", "RS256")]
    assert "d" not in jwks["keys"][0]


def test_forge_dev_keys_keeps_an_existing_key(app, cli):
    cli("forge", "dev-keys")
    jwks = (Path(app.instance_path) / dev.JWKS_FILE).read_text()
    cli("forge", "dev-keys")
    assert (Path(app.instance_path) / dev.JWKS_FILE).read_text() == jwks


def test_forge_dev_token_without_keys_explains_what_to_do(cli, fresh_installation_id):
    result = cli("forge", "dev-token", "--installation-id", fresh_installation_id)
    assert result.exit_code != 0
    assert "dev-keys" in result.output


def test_forge_dev_token_drives_the_request_key_bootstrap(app, cli, client, fresh_installation_id):
    cli("forge", "dev-keys")
    app.config["FORGE_JWKS_URL"] = str(Path(app.instance_path) / dev.JWKS_FILE)
    result = cli("forge", "dev-token", "--installation-id", fresh_installation_id, "--cloud-id", "site-1",
                 "--principal", "557058:alice")
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    response = client.post("/v1/jira/request-key", json={}, headers=bearer(token))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["requestKey"].startswith("sc_jira_req_")


def test_forge_dev_token_is_refused_by_a_backend_that_trusts_other_keys(app, cli, client, fresh_installation_id):
    cli("forge", "dev-keys")  # the app keeps the test suite's JWKS, which does not hold this key
    token = cli("forge", "dev-token", "--installation-id", fresh_installation_id).output.strip()
    assert client.post("/v1/jira/request-key", json={}, headers=bearer(token)).status_code == 401
