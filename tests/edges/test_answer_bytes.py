"""Stored text served back is budgeted in the bytes actually sent: Flask's JSON escapes every non-ASCII
character (`\\u00e9` is 6 bytes, an emoji `\\ud83d\\ude00` 12), so counting characters under-counts up to 12×."""
import json

import pytest

from seecodes.indexes import service

HASH = "c" * 64
EMOJI = "\U0001F600"
ENVELOPE_BYTES = 200  # {"ok":true,"indexUpdatedAt":…,"matches":{…}} around the matches


def _upsert(client, auth, entries):
    return client.post("/v1/projects/AUTH/indexes/upsert", json={"entries": entries}, headers=auth)


def _query(client, auth, paths):
    items = [{"path": path, "hash": HASH} for path in paths]
    return client.post("/v1/projects/AUTH/indexes/query", json={"items": items}, headers=auth)


@pytest.mark.parametrize("copies", [1, 2, 3, 5, 8])
def test_an_index_answer_of_emoji_stays_within_the_byte_budget(app, client, auth, copies):
    cap = 100_000
    app.config["SEECODES_INDEX_ANSWER_MAX_CHARS"] = cap
    entry = {"hash": HASH, "short": EMOJI * 500, "detailed": EMOJI * 5000, "exports": [EMOJI * 100] * 10}
    assert _upsert(client, auth, {f"src/{EMOJI}.ts": entry}).status_code == 200
    answer = _query(client, auth, [f"copy/{EMOJI * 20}/{n}.ts" for n in range(copies)])
    if answer.status_code == 200:
        assert len(answer.get_data()) <= cap + ENVELOPE_BYTES
        assert len(answer.get_json()["matches"]) == copies
    else:
        assert answer.status_code == 413 and answer.get_json()["error"] == "answer_too_large"
        assert copies * len(EMOJI * 5600) * 12 > cap  # refused only when the bytes would pass the cap


def test_an_index_answer_that_fits_in_bytes_is_answered(app, client, auth):
    app.config["SEECODES_INDEX_ANSWER_MAX_CHARS"] = 100_000
    assert _upsert(client, auth, {"src/a.ts": {"hash": HASH, "detailed": EMOJI * 2000}}).status_code == 200
    answer = _query(client, auth, [f"copy/{n}.ts" for n in range(3)])  # 3 × 24,000 bytes
    assert answer.status_code == 200, answer.get_json()


@pytest.mark.backends("sqlite")
def test_the_budget_counts_a_match_as_its_json_bytes():
    class Row:
        path, hash, updated_at_ms = f"src/{EMOJI}é\"q\".ts", HASH, 10**13
        short, detailed, important_symbols, dependencies, exports = "é\n", EMOJI, ["\t"], None, []

    document = json.dumps({Row.path: {"pathMatched": False, "hashMatchedPath": Row.path,
                                      "entry": service._entry_document(Row)}}, separators=(",", ":"))
    counted = service.match_bytes(Row, [Row.path])
    assert len(document) <= counted <= len(document) + service.ENTRY_OVERHEAD_CHARS


def _link(jira, context):
    body = {"projectId": "AUTH", "taskId": "AUTH-128", "userAccountId": jira.principal, "expirationDays": 1,
            "jiraContext": context}
    # Sent as raw UTF-8 (4 bytes an emoji), as a client may; the test client's json= would escape it.
    return jira.post("/v1/security/vscode-link", data=json.dumps(body, ensure_ascii=False).encode(),
                     content_type="application/json")


def test_a_task_context_whose_answer_would_pass_the_body_limit_is_refused(app, client, jira):
    app.config["MAX_CONTENT_LENGTH"] = 60_000
    context = {"title": EMOJI * 12_000}  # 48 KB of UTF-8 in the body, 144 KB as answered
    answer = _link(jira, context)
    assert answer.status_code == 413, answer.get_json()
    assert answer.get_json()["error"] == "payload_too_large"


def test_a_task_context_answer_stays_within_the_body_limit(app, client, jira):
    app.config["MAX_CONTENT_LENGTH"] = 60_000
    assert _link(jira, {"title": EMOJI * 4_000}).status_code == 200  # 48 KB as answered
    permit = jira.permit()
    answer = client.get("/v1/tasks/context", headers={"Authorization": f"Bearer {permit}"})
    assert answer.status_code == 200
    assert len(answer.get_data()) <= 60_000
