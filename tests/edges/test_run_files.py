"""POST /v1/tasks/init file names: non-strings are 422, names are limited in UTF-8 bytes."""
import pytest

from seecodes.runs import rules


@pytest.mark.parametrize("files", [[{}], [[]], [{}, {}], ["a.md", []]])
def test_file_names_that_are_not_strings_are_422(client, auth, files):
    response = client.post("/v1/tasks/init", json={"model": "strict light", "files": files}, headers=auth)
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["error"] == "validation_failed" and "files" in body["errors"]


def test_two_byte_names_over_255_bytes_are_422(client, auth):
    name = "é" * 200  # 200 characters, 400 bytes: passed the old 255-character rule, broke the local store
    response = client.post("/v1/tasks/init", json={"model": "strict light", "files": [name]}, headers=auth)
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["errors"]["files"]


def test_a_name_of_255_bytes_is_uploaded_and_started(client, auth, grant, tenant):
    name = "é" * 127 + "a"  # 255 bytes
    grant(tenant["installation_id"], 1000)
    init = client.post("/v1/tasks/init", json={"model": "strict light", "files": [name]}, headers=auth)
    assert init.status_code == 200, init.get_json()
    upload = init.get_json()["uploads"][name]
    path = upload.split("://", 1)[1].split("/", 1)[1]
    put = client.put("/" + path, data=b"# hello\n")
    assert put.status_code == 200, put.get_json()
    start = client.post(f"/v1/tasks/{init.get_json()['runId']}/start", json={}, headers=auth)
    assert start.status_code == 200, start.get_json()


def test_rules_count_bytes_not_characters():
    assert rules.file_name_problems(["é" * 128]) == {"0": [f"A file name has at most {rules.MAX_NAME_BYTES} bytes in UTF-8."]}
    assert rules.file_name_problems(["é" * 127]) == {}


def test_rules_do_not_crash_on_unhashable_names():
    assert set(rules.file_name_problems([{}, []])) == {"0", "1"}
