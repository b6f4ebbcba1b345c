"""Project index amplification: entries are bounded on upsert and a query's answer has a total budget."""
import pytest

from seecodes.indexes import service

HASH = "b" * 64


def _upsert(client, auth, entries):
    return client.post("/v1/projects/AUTH/indexes/upsert", json={"entries": entries}, headers=auth)


def test_detailed_over_20000_characters_is_422(client, auth):
    response = _upsert(client, auth, {"src/a.ts": {"hash": HASH, "detailed": "x" * 20_001}})
    assert response.status_code == 422, response.get_json()
    assert "entries" in response.get_json()["errors"]


def test_more_than_200_names_is_422(client, auth):
    response = _upsert(client, auth, {"src/a.ts": {"hash": HASH, "exports": ["e"] * 201}})
    assert response.status_code == 422, response.get_json()


def test_an_entry_whose_text_exceeds_the_entry_limit_is_422(client, auth):
    names = ["n" * 1000] * 12  # each list within its own limits, the entry as a whole is not
    entry = {"hash": HASH, "short": "s" * 2000, "detailed": "d" * 20_000, "important_symbols": names,
             "dependencies": names, "exports": names}
    assert service.entry_chars(entry) > service.MAX_ENTRY_CHARS
    response = _upsert(client, auth, {"src/a.ts": entry})
    body = response.get_json()
    assert response.status_code == 422, body
    assert body["error"] == "validation_failed"


def test_a_query_whose_answer_exceeds_the_budget_is_413_and_says_to_split(app, client, auth):
    app.config["SEECODES_INDEX_ANSWER_MAX_CHARS"] = 100_000
    assert _upsert(client, auth, {"src/big.ts": {"hash": HASH, "detailed": "d" * 19_000}}).status_code == 200
    # One stored entry, matched by hash under 10 paths: each path gets its own copy in the answer.
    items = [{"path": f"copy/{n}.ts", "hash": HASH} for n in range(10)]
    response = client.post("/v1/projects/AUTH/indexes/query", json={"items": items}, headers=auth)
    body = response.get_json()
    assert response.status_code == 413, body
    assert body["error"] == "answer_too_large"
    assert "split" in body["detail"] and body["maxAnswerChars"] == 100_000


def test_a_query_within_the_budget_answers_every_match(app, client, auth):
    app.config["SEECODES_INDEX_ANSWER_MAX_CHARS"] = 100_000
    assert _upsert(client, auth, {"src/big.ts": {"hash": HASH, "detailed": "d" * 19_000}}).status_code == 200
    items = [{"path": f"copy/{n}.ts", "hash": HASH} for n in range(4)]
    response = client.post("/v1/projects/AUTH/indexes/query", json={"items": items}, headers=auth)
    assert response.status_code == 200, response.get_json()
    assert len(response.get_json()["matches"]) == 4


def test_the_default_budget_refuses_an_amplified_answer(app, client, auth):
    """Without configuration: one large entry matched under 400 paths (a 16 kB request) would be a 9 MB
    answer; the default budget of 8,000,000 characters refuses it before building it."""
    assert app.config["SEECODES_INDEX_ANSWER_MAX_CHARS"] == 8_000_000  # the default: nothing configured
    entry = {"hash": HASH, "short": "s" * 2000, "detailed": "d" * 20_000}
    assert _upsert(client, auth, {"src/big.ts": entry}).status_code == 200
    items = [{"path": f"copy/{n}.ts", "hash": HASH} for n in range(400)]
    response = client.post("/v1/projects/AUTH/indexes/query", json={"items": items}, headers=auth)
    body = response.get_json()
    assert response.status_code == 413, len(response.data)
    assert body["error"] == "answer_too_large" and body["maxAnswerChars"] == 8_000_000


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_openapi_documents_the_index_limits(client):
    schemas = client.get("/openapi.json").get_json()["components"]["schemas"]
    assert schemas["IndexQueryBody"]["properties"]["items"]["maxItems"] == 5000
    assert schemas["IndexUpsertBody"]["properties"]["entries"]["maxProperties"] == 5000
    assert schemas["IndexUpsertBody"]["properties"]["deletePaths"]["maxItems"] == 5000
    entry = schemas["Entry"]["properties"]
    assert entry["detailed"]["maxLength"] == 20_000 and entry["short"]["maxLength"] == 2000
    assert entry["exports"]["maxItems"] == 200 and entry["exports"]["items"]["maxLength"] == 1024
    assert schemas["QueryItem"]["properties"]["path"]["maxLength"] == 1024
