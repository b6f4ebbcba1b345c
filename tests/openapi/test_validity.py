"""The served /openapi.json is a valid OpenAPI 3.0.3 document, and every example in it is valid for its schema."""
import os
import runpy
from pathlib import Path

import pytest
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import OpenAPIV30SpecValidator

from seecodes import http_limits

ROOT = Path(__file__).resolve().parents[2]
HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# The document reads no table: one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"])


def _problems(document, schema, value) -> list[str]:
    """OpenAPI 3.0 semantics (nullable adds null only to a `type` beside it, x- keys ignored), $refs resolved
    against the document itself."""
    validator = OAS30Validator({**schema, "components": document.get("components", {})},
                               format_checker=oas30_format_checker)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(value)]


def _resolve(document, node):
    while isinstance(node, dict) and "$ref" in node:
        section, name = node["$ref"].split("/")[2:4]
        node = document["components"][section][name]
    return node


def _schema_examples(node, where):
    """(where, schema, example) for every `example` keyword inside schemas, nested ones included."""
    if isinstance(node, dict):
        if "example" in node:
            yield where, node, node["example"]
        for key, value in node.items():
            if key != "example":
                yield from _schema_examples(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _schema_examples(value, f"{where}/{index}")


def _examples(document):
    """Every example of the document with the schema it illustrates: media types (example and examples),
    parameters, headers, and the `example` keywords inside schemas."""
    found = list(_schema_examples(document["components"].get("schemas", {}), "#/components/schemas"))
    for name, header in document["components"].get("headers", {}).items():
        if "example" in header:
            found.append((f"#/components/headers/{name}", header["schema"], header["example"]))
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []) + item.get("parameters", []):
                parameter = _resolve(document, parameter)
                if "example" in parameter:
                    found.append((f"{where} parameter {parameter['name']}", parameter["schema"], parameter["example"]))
            contents = [("request", operation.get("requestBody", {}).get("content", {}))]
            for status, response in operation["responses"].items():
                response = _resolve(document, response)
                contents.append((status, response.get("content", {})))
                for name, header in response.get("headers", {}).items():
                    header = _resolve(document, header)
                    if "example" in header:
                        found.append((f"{where} {status} header {name}", header["schema"], header["example"]))
            for label, content in contents:
                for media_type, media in content.items():
                    schema = media.get("schema", {})
                    if "example" in media:
                        found.append((f"{where} {label} {media_type}", schema, media["example"]))
                    for name, example in media.get("examples", {}).items():
                        found.append((f"{where} {label} {media_type} example {name}", schema,
                                      _resolve(document, example)["value"]))
    return found


def test_the_served_document_passes_openapi_spec_validator(document):
    errors = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"[:300]
              for error in OpenAPIV30SpecValidator(document).iter_errors()]
    assert errors == []


def test_the_document_has_examples_of_every_kind(document):
    kinds = {where.split(" ")[-2] if " example " in where else where.split(" ")[-1] for where, _, _ in
             _examples(document)}
    assert len(_examples(document)) > 100
    assert {"application/json", "text/plain"} <= kinds


def test_every_example_is_valid_for_its_schema(document):
    invalid = {where: problems for where, schema, example in _examples(document)
               if (problems := _problems(document, schema, example))}
    assert invalid == {}


def test_the_example_check_catches_an_example_its_schema_refuses(document):
    # init's answer without uploadMethod (the defect this file was written for) is refused.
    schema = document["paths"]["/v1/tasks/init"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    example = document["paths"]["/v1/tasks/init"]["post"]["responses"]["200"]["content"]["application/json"][
        "example"]
    assert _problems(document, schema, example) == []
    assert _problems(document, schema, {k: v for k, v in example.items() if k != "uploadMethod"})


def test_progress_null_the_real_answer_is_valid_for_the_schema(document, permit, client):
    response = client.get("/v1/tasks/AUTH-128/progress?projectId=AUTH", headers={"Authorization": f"Bearer {permit}"})
    assert response.status_code == 200 and response.get_json()["progress"] is None
    schema = document["paths"]["/v1/tasks/{taskId}/progress"]["get"]["responses"]["200"]["content"][
        "application/json"]["schema"]
    assert _problems(document, schema, response.get_json()) == []
    assert _problems(document, schema, {"ok": True, "progress": 5})  # null is allowed, not anything


def test_header_and_parameter_examples_are_visible_ascii(document):
    # RFC 7230 field values: schemathesis (and HTTP libraries) refuse anything else in a header.
    wrong = [(where, example) for where, _, example in _examples(document)
             if (" header " in where or " parameter " in where or where.startswith("#/components/headers"))
             and isinstance(example, str) and not all(" " <= c <= "~" for c in example)]
    assert wrong == []


def _gunicorn_settings() -> dict:
    saved = dict(os.environ)
    try:
        return runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def test_the_document_states_the_request_limits_gunicorn_enforces(document):
    settings = _gunicorn_settings()
    assert settings["limit_request_line"] == http_limits.REQUEST_LINE_BYTES
    assert settings["limit_request_field_size"] == http_limits.HEADER_FIELD_BYTES
    assert settings["limit_request_fields"] == http_limits.HEADER_FIELDS
    description = document["info"]["description"]
    assert f"request line over {settings['limit_request_line']} bytes" in description
    assert f"header over {settings['limit_request_field_size']} bytes" in description
