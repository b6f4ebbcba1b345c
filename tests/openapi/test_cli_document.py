"""`flask openapi print` / `write` give the served document, finishing pass included (flask-smorest's own
commands printed apispec's raw output: no operation ids, no error codes)."""
import json

import pytest

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def test_openapi_print_is_what_get_openapi_json_answers(app, client):
    printed = app.test_cli_runner().invoke(args=["openapi", "print"])
    assert printed.exit_code == 0, printed.output
    served = client.get("/openapi.json").get_data(as_text=True)
    assert printed.output == served + "\n"
    assert json.loads(printed.output)["paths"]["/v1/tasks/init"]["post"]["operationId"] == "initRun"


def test_openapi_write_writes_the_served_document(app, client, tmp_path):
    target = tmp_path / "openapi.json"
    written = app.test_cli_runner().invoke(args=["openapi", "write", str(target)])
    assert written.exit_code == 0, written.output
    assert target.read_text() == client.get("/openapi.json").get_data(as_text=True) + "\n"
