"""Project indexes: the contract's examples, match rules incl. moved files, limits, binding, tenant scope."""
import pytest
from sqlalchemy import event

from seecodes import clock
from seecodes.extensions import db
from seecodes.indexes import service
from seecodes.indexes.models import ProjectIndexEntry
from seecodes.indexes.paths import path_problem

from ..helpers import assert_envelope, bearer
from ..contract_examples import EXAMPLE_HASH, QUERY_EXAMPLE, UPSERT_EXAMPLE

QUERY = "/v1/projects/AUTH/indexes/query"
UPSERT = "/v1/projects/AUTH/indexes/upsert"
H1, H2, H3 = "1" * 64, "2" * 64, "3" * 64


@pytest.fixture
def upsert(client, auth):
    def post(entries=None, delete_paths=(), expect=200):
        body = {"entries": {path: {"hash": digest} for path, digest in (entries or {}).items()},
                "deletePaths": list(delete_paths)}
        response = client.post(UPSERT, json=body, headers=auth)
        assert response.status_code == expect, response.get_json()
        return response.get_json()

    return post


@pytest.fixture
def query(client, auth):
    def post(*items):
        response = client.post(QUERY, json={"items": [{"path": p, "hash": h} for p, h in items]}, headers=auth)
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return post


def test_contract_examples_round_trip(client, auth, upsert):
    upsert({"src/old-auth.ts": H1})
    answer = client.post(UPSERT, json=UPSERT_EXAMPLE, headers=auth).get_json()
    assert {k: answer[k] for k in ("ok", "upserted", "deleted", "totalFiles")} == \
        {"ok": True, "upserted": 1, "deleted": 1, "totalFiles": 1}
    found = client.post(QUERY, json=QUERY_EXAMPLE, headers=auth).get_json()
    assert found["updatedAt"] == answer["updatedAt"]
    assert found["matches"] == {"src/auth.ts": {"pathMatched": True, "hashMatchedPath": "src/auth.ts",
                                                "entry": UPSERT_EXAMPLE["entries"]["src/auth.ts"]}}


def test_moved_file_matches_by_hash_at_its_old_path(upsert, query):
    upsert({"src/auth.ts": H1})
    assert query(("lib/auth.ts", H1))["matches"]["lib/auth.ts"] == {
        "pathMatched": False, "hashMatchedPath": "src/auth.ts",
        "entry": {"hash": H1, "updatedAt": pytest.approx(clock.epoch_ms(clock.now()), abs=60_000),
                  "short": None, "detailed": None, "important_symbols": [], "dependencies": [], "exports": []}}


def test_changed_file_matches_another_path_with_its_new_hash(upsert, query):
    upsert({"a.ts": H1, "b.ts": H2})
    match = query(("a.ts", H2))["matches"]["a.ts"]
    assert (match["pathMatched"], match["hashMatchedPath"], match["entry"]["hash"]) == (False, "b.ts", H2)


def test_unknown_hash_is_absent_from_matches(upsert, query):
    upsert({"a.ts": H1})
    assert query(("a.ts", H3), ("new.ts", H3))["matches"] == {}


def test_several_paths_with_one_hash_pick_the_smallest_in_byte_order(upsert, query):
    upsert({"b/x.ts": H1, "a.ts": H1, "B.ts": H1, "é.ts": H1})
    assert query(("z.ts", H1))["matches"]["z.ts"]["hashMatchedPath"] == "B.ts"


def test_hash_case_is_normalised(upsert, query, app):
    upsert({"a.ts": "ABCDEF" * 10 + "ABCD"})
    assert query(("a.ts", "abcdef" * 10 + "abcd"))["matches"]["a.ts"]["pathMatched"] is True
    with app.app_context():
        assert db.session.execute(db.select(ProjectIndexEntry.hash)).scalar_one() == "abcdef" * 10 + "abcd"


def test_total_files_and_updated_at_follow_changes(upsert, query):
    assert query(("a.ts", H1))["updatedAt"] == 0
    first = upsert({"a.ts": H1, "b.ts": H1, "c.ts": H1})
    second = upsert({"a.ts": H2, "d.ts": H2}, delete_paths=["b.ts", "c.ts", "missing.ts"])
    assert (first["totalFiles"], second["upserted"], second["deleted"], second["totalFiles"]) == (3, 2, 2, 2)
    assert second["updatedAt"] > first["updatedAt"] > 0
    unchanged = upsert({}, delete_paths=["missing.ts"])
    assert (unchanged["updatedAt"], unchanged["totalFiles"]) == (second["updatedAt"], 2)


def test_upsert_replaces_an_entrys_fields(client, auth, query):
    client.post(UPSERT, json=UPSERT_EXAMPLE, headers=auth)
    client.post(UPSERT, json={"entries": {"src/auth.ts": {"hash": H2, "short": "New"}}}, headers=auth)
    entry = query(("src/auth.ts", H2))["matches"]["src/auth.ts"]["entry"]
    assert (entry["short"], entry["detailed"], entry["exports"]) == ("New", None, [])


def test_other_installation_never_sees_entries(client, upsert, other_jira):
    upsert({"src/auth.ts": EXAMPLE_HASH})
    other = bearer(other_jira.permit())
    answer = client.post(QUERY, json=QUERY_EXAMPLE, headers=other).get_json()
    assert (answer["matches"], answer["updatedAt"]) == ({}, 0)


@pytest.mark.parametrize("url", [QUERY, UPSERT])
def test_another_project_in_the_path_is_forbidden(client, auth, url):
    response = client.post(url.replace("/AUTH/", "/OTHER/"), json=QUERY_EXAMPLE, headers=auth)
    assert_envelope(response, 403, "permit_binding_mismatch")


@pytest.mark.parametrize("url", [QUERY, UPSERT])
def test_index_routes_require_a_permit(client, url):
    assert_envelope(client.post(url, json=QUERY_EXAMPLE), 401, "credential_missing")


@pytest.mark.parametrize("body", [
    {"items": [{"path": f"f{n}.ts", "hash": H1} for n in range(5001)]},
    {"items": [{"path": "/etc/passwd", "hash": H1}]},
    {"items": [{"path": "a.ts", "hash": "xyz"}]},
    {"items": [{"path": "a.ts", "hash": H1}, {"path": "a.ts", "hash": H2}]},
    {},
])
def test_invalid_query_is_refused(client, auth, body):
    assert_envelope(client.post(QUERY, json=body, headers=auth), 422, "validation_failed")


@pytest.mark.parametrize("body", [
    {"entries": {f"f{n}.ts": {"hash": H1} for n in range(5001)}},
    {"deletePaths": [f"f{n}.ts" for n in range(5001)]},
    {"entries": {"../up.ts": {"hash": H1}}},
    {"entries": {"a.ts": {"hash": H1, "updatedAt": -1}}},
    {"entries": {"a.ts": {"hash": H1, "important_symbols": ["x"] * 501}}},
    {"entries": {"a.ts": {"hash": H1}}, "deletePaths": ["a.ts"]},
])
def test_invalid_upsert_is_refused_and_changes_nothing(client, auth, app, body):
    assert_envelope(client.post(UPSERT, json=body, headers=auth), 422, "validation_failed")
    with app.app_context():
        assert db.session.query(ProjectIndexEntry).count() == 0


@pytest.mark.parametrize("path, ok", [
    ("src/auth.ts", True), ("a", True), (".github/workflows/ci.yml", True), ("dir/naïve file.ts", True),
    ("", False), ("/abs.ts", False), ("a/../b.ts", False), ("..", False), ("./a.ts", False), ("a//b.ts", False),
    ("a/", False), ("a\\b.ts", False), ("a\x00b", False), ("a\nb", False), ("x" * 1025, False),
    ("é" * 1025, False), ("é" * 1024, True),
])
def test_path_rules(path, ok):
    assert (path_problem(path) is None) is ok


def test_query_runs_a_fixed_number_of_statements(app, installation_pk):
    with app.app_context():
        service.upsert(installation_pk, "AUTH", {f"f{n}.ts": {"hash": f"{n % 7:064x}"} for n in range(300)}, [])
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            _, matches = service.query(installation_pk, "AUTH",
                                       [(f"g{n}.ts" if n % 2 else f"f{n}.ts", f"{n % 9:064x}") for n in range(1000)])
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        db.session.rollback()
    assert len(statements) <= 3
    assert len(matches) > 0


def test_the_maximum_batch_upserts_matches_and_deletes(app, installation_pk):
    entries = {f"dir{n % 50}/f{n}.ts": {"hash": f"{n:064x}", "short": None} for n in range(service.MAX_ITEMS)}
    with app.app_context():
        result = service.upsert(installation_pk, "AUTH", entries, [])
        db.session.commit()
        _, matches = service.query(installation_pk, "AUTH", [(path, e["hash"]) for path, e in entries.items()])
        removed = service.upsert(installation_pk, "AUTH", {}, list(entries))
        db.session.commit()
    assert (result.upserted, result.total_files, len(matches)) == (5000, 5000, 5000)
    assert (removed.deleted, removed.total_files) == (5000, 0)
