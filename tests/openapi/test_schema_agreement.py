"""What schemathesis found where the server and the document disagreed, pinned as plain tests."""
import pytest

from .harness import Harness


@pytest.fixture
def ide(client, signer, tenant):
    harness = Harness(client, signer, tenant)
    return lambda path, body: client.post(path, json=body, headers={"Authorization": f"Bearer {harness.permit}"})


def test_init_refuses_file_names_that_are_not_strings(ide):
    response = ide("/v1/tasks/init", {"model": "strict light", "files": ["list.md", [None, None]]})
    assert response.status_code == 422 and response.get_json()["error"] == "validation_failed"


@pytest.mark.parametrize("flag", ["architectureChange", "logicChange", "specificationUiChange"])
def test_activity_flags_must_be_json_booleans(ide, flag):
    body = {"windowStartedAt": "2026-04-04T10:00:00Z", "windowEndedAt": "2026-04-04T10:15:00Z", flag: 1}
    response = ide("/v1/tasks/activity-snapshot", body)
    assert response.status_code == 422 and response.get_json()["error"] == "validation_failed"
    assert flag in response.get_json()["errors"]


def test_the_document_gives_upsert_entry_keys_the_path_rules(client):
    entries = client.get("/openapi.json").get_json()["components"]["schemas"]["IndexUpsertBody"]["properties"][
        "entries"]
    delete_paths = client.get("/openapi.json").get_json()["components"]["schemas"]["IndexUpsertBody"][
        "properties"]["deletePaths"]["items"]
    # OpenAPI 3.0 has no propertyNames: the rules are an x- keyword and words in the description.
    assert entries["x-propertyNames"] == delete_paths and "propertyNames" not in entries
    assert delete_paths["description"] in entries["description"]


def test_upsert_refuses_a_path_that_is_not_valid_unicode(ide):
    response = ide("/v1/projects/AUTH/indexes/upsert", {"entries": {"src/\ud800.ts": {"hash": "a" * 64}}})
    assert response.status_code == 422 and response.get_json()["error"] == "validation_failed"


def test_init_refuses_a_file_name_that_is_not_valid_unicode(ide):
    response = ide("/v1/tasks/init", {"model": "strict light", "files": ["list\ud800.md"]})
    assert response.status_code == 422 and response.get_json()["error"] == "validation_failed"


def test_validation_errors_of_list_items_are_reported_not_a_500(ide):
    files = ["a.md", 0, None, [None], False] + [f"{n}.md" for n in range(20)]  # item errors and too many files
    response = ide("/v1/tasks/init", {"model": "strict light", "files": files})
    assert response.status_code == 422 and response.get_json()["error"] == "validation_failed"
    assert {"1", "2", "3", "4"} <= set(response.get_json()["errors"]["files"])
