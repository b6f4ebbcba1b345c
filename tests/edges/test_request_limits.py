"""Query strings and headers: documented limits fit gunicorn's request-line and header limits."""
import os
import runpy
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parents[2]
PERCENT_ENCODED = 3  # bytes on the wire per ASCII character, at worst


def _gunicorn_settings() -> dict:
    """The config file's settings; the environment variables it sets by default (the metrics folder) are
    undone, so that they do not switch this test process's metrics into multiprocess mode."""
    saved = dict(os.environ)
    try:
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _longest_request_line(spec: dict) -> tuple[int, str]:
    """The longest request line any documented GET allows, every parameter at its maxLength."""
    worst = (0, "")
    for path, item in spec["paths"].items():
        operation = item.get("get")
        if not operation:
            continue
        line = len("GET ") + len(path) + len(" HTTP/1.1")
        for parameter in operation.get("parameters", []) + item.get("parameters", []):
            schema = parameter.get("schema", {})
            if parameter["in"] == "path":
                # Path identifiers are validated as Jira ids / run ids: at most 255 URL-safe characters.
                line += 255
                continue
            length = schema.get("maxLength")
            if schema.get("type") == "string" and length is None and schema.get("format") not in ("date",):
                pytest.fail(f"{path} {parameter['name']} has no maxLength")
            line += len(parameter["name"]) + 2 + (length or 32) * PERCENT_ENCODED
        worst = max(worst, (line, path))
    return worst


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_documented_query_fits_gunicorns_request_line(client):
    length, path = _longest_request_line(client.get("/openapi.json").get_json())
    assert length <= _gunicorn_settings()["limit_request_line"], path


def test_gunicorn_header_limits_are_set_explicitly():
    settings = _gunicorn_settings()
    assert settings["limit_request_line"] == 8190
    assert settings["limit_request_field_size"] == 8190
    assert settings["limit_request_fields"] == 100


@pytest.mark.parametrize("hint", ["é" * 10, "a b", "x" * 513])
def test_hints_outside_printable_ascii_are_422(jira, hint):
    jira.bootstrap()
    response = jira.get(f"/v1/jira/usage?cloudIdHint={quote(hint)}")
    body = response.get_json()
    assert response.status_code == 422, body
    assert "cloudIdHint" in body["errors"]


def test_body_hint_outside_printable_ascii_is_422(jira):
    response = jira.client.post("/v1/jira/request-key", json={"siteUrlHint": "https://é" * 100},
                                headers=jira.auth())
    body = response.get_json()
    assert response.status_code == 422, body
    assert "siteUrlHint" in body["errors"]


def test_launcher_base_url_outside_printable_ascii_is_400(client):
    query = {"p": "AUTH", "t": "AUTH-128", "c": "sc_launch_" + "a" * 43, "baseUrl": "https://é.example"}
    response = client.get("/v1/launch", query_string=query)
    assert response.status_code == 400 and "baseUrl" in response.get_json()["errors"]
