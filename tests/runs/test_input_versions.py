"""The size limit holds without the POST policy: start measures every input (HEAD, never a read), refuses and
deletes one over SEECODES_MAX_UPLOAD_BYTES with 413, and records each input's size and version; the job reads
exactly those versions with a bounded read and fails (refunded) a run whose inputs changed or grew after start."""
import io

import pytest

from seecodes import storage
from seecodes.extensions import db
from seecodes.runs import dispatch, jobs
from seecodes.runs.models import Run
from seecodes.storage import ObjectChanged, ObjectVersion, keys
from seecodes.storage.local import LocalStorage
from seecodes.storage.s3 import S3Storage

from ..helpers import assert_envelope
from ..production import S3_BUCKET
from .conftest import LIST_MD
from .faults import use_queue

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")

CHANGED = "The inputs changed after the run was started; start a new run."


def head(app, run_id, name="list.md"):
    with app.app_context():
        return storage.get(app).head(keys.input_key(run_id, name))


@pytest.fixture
def unserved(app, monkeypatch):
    """Started runs wait for the test to run their job in-process (no executor, no served queue)."""
    monkeypatch.setattr(dispatch, "submit", lambda app, run_id: None)
    use_queue(app, "runs-versions")


def run_job(app, run_id):
    with app.app_context():
        db.session.remove()
        try:
            return jobs.execute_run(run_id)
        except jobs.RunFailed as error:
            return f"failed: {error}"
        finally:
            db.session.remove()


def replace_input(app, run_id, data: bytes):
    """An upload that lands after the start (S3: the presigned PUT is still valid; local: a PUT that was already
    streaming when the run started)."""
    with app.app_context():
        storage.get(app).write(keys.input_key(run_id, "list.md"), data, "text/markdown")


def test_an_input_over_the_limit_is_refused_at_start_with_413_and_deleted(app, runs, served, funded, credits_of):
    run_id, document = runs.prepared()
    app.config["SEECODES_MAX_UPLOAD_BYTES"] = len(LIST_MD) - 1  # lowered after the upload (S3: a PUT has no bound)
    body = assert_envelope(runs.start(run_id), 413, "upload_too_large")
    assert body["files"] == ["list.md"] and "they were deleted" in body["detail"]
    assert head(app, run_id) is None
    assert credits_of(funded) == 1000
    assert runs.status(run_id).get_json()["status"]["status"] == "initialized"
    app.config["SEECODES_MAX_UPLOAD_BYTES"] = len(LIST_MD)
    assert runs.send(document, "list.md", LIST_MD).status_code in (200, 204)
    assert runs.start(run_id).status_code == 200


def test_start_records_the_size_and_version_of_every_input(app, runs, served, funded, unserved):
    run_id, _ = runs.prepared({"list.md": LIST_MD, "notes.md": b"notes"})
    assert runs.start(run_id).status_code == 200
    with app.app_context():
        recorded = db.session.get(Run, run_id).input_versions
    assert recorded == {"list.md": head(app, run_id).document(), "notes.md": head(app, run_id, "notes.md").document()}
    assert recorded["notes.md"]["size"] == 5


def test_the_job_runs_on_the_recorded_inputs(app, runs, served, funded, unserved):
    run_id = runs.started()
    assert run_job(app, run_id) == "succeeded"
    assert "Callback validation" in runs.output(run_id).text


def test_an_input_that_grew_after_start_fails_the_run_and_is_never_read_whole(app, runs, served, funded, unserved,
                                                                              credits_of, monkeypatch):
    run_id = runs.started()
    replace_input(app, run_id, LIST_MD + b"x" * (4 * 1024 * 1024))
    store_class = type(storage.get(app))
    monkeypatch.setattr(store_class, "read", lambda *args: pytest.fail("the job read an input whole"))
    assert run_job(app, run_id) == f"failed: {CHANGED}"
    status = runs.status(run_id).get_json()["status"]
    assert status["status"] == "failed" and status["error"] == CHANGED
    assert credits_of(funded) == 1000  # refunded


def test_an_input_replaced_by_one_of_the_same_size_fails_the_run(app, runs, served, funded, unserved, credits_of):
    run_id = runs.started()
    replace_input(app, run_id, LIST_MD.replace(b"Auth", b"Fake"))
    assert head(app, run_id).size == len(LIST_MD)
    assert run_job(app, run_id) == f"failed: {CHANGED}"
    assert runs.status(run_id).get_json()["status"]["error"] == CHANGED
    assert credits_of(funded) == 1000


def test_an_input_deleted_after_start_fails_the_run(app, runs, served, funded, unserved):
    run_id = runs.started()
    with app.app_context():
        storage.get(app).delete(keys.input_key(run_id, "list.md"))
    assert run_job(app, run_id) == "failed: The input file 'list.md' is no longer in storage."


def test_a_run_queued_before_versions_were_recorded_still_runs(app, runs, served, funded, unserved):
    """At the upgrade that added input_versions, queued runs have none: the job reads the object as it is."""
    run_id = runs.started()
    with app.app_context():
        db.session.get(Run, run_id).input_versions = None
        db.session.commit()
    assert run_job(app, run_id) == "succeeded"


# --- the backends' version reads ------------------------------------------------------------------------------

@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path, moto_url):
    if request.param == "local":
        return LocalStorage(str(tmp_path / "storage"), "http://127.0.0.1:1", app=None)
    return S3Storage(S3_BUCKET, moto_url, ttl=60, max_upload_bytes=100)


@pytest.mark.backends("sqlite")
def test_a_version_reads_back_exactly_and_any_replacement_is_refused(store):
    key = "runs/run_versions/input/a.md"
    store.write(key, b"hello", "text/markdown")
    version = store.head(key)
    assert version.size == 5 and store.read_version(key, version) == b"hello"
    store.write(key, b"hallo", "text/markdown")  # same size, other bytes
    with pytest.raises(ObjectChanged):
        store.read_version(key, version)
    store.write(key, b"hello, world", "text/markdown")
    with pytest.raises(ObjectChanged):
        store.read_version(key, version)
    assert store.head("runs/run_versions/input/none.md") is None


@pytest.mark.backends("sqlite")
def test_delete_prefix_removes_every_object_of_a_run_and_nothing_else(store):
    for key in ("runs/run_a/input/a.md", "runs/run_a/input/b.md", "runs/run_a/result/output.md",
                "runs/run_ab/input/a.md"):
        store.write(key, b"x", "text/plain")
    assert store.delete_prefix("runs/run_a/") == 3
    assert store.head("runs/run_a/input/a.md") is None and store.head("runs/run_a/result/output.md") is None
    assert store.head("runs/run_ab/input/a.md") is not None
    assert store.delete_prefix("runs/run_a/") == 0
    store.delete("runs/run_ab/input/a.md")
    store.delete("runs/run_ab/input/a.md")  # deleting what is gone is no error
    assert store.head("runs/run_ab/input/a.md") is None


@pytest.mark.backends("sqlite")
def test_an_s3_store_that_ignores_if_match_is_still_read_only_one_byte_past_the_version(moto_url, monkeypatch):
    """Some S3-compatible stores ignore If-Match: the bounded read still refuses a grown object."""
    store = S3Storage(S3_BUCKET, moto_url, ttl=60, max_upload_bytes=100)

    class Body(io.BytesIO):
        asked = []

        def read(self, size=-1):
            Body.asked.append(size)
            return super().read(size)

    class Client:
        def get_object(self, **params):
            return {"Body": Body(b"y" * 10_000_000)}

    monkeypatch.setattr(S3Storage, "client", property(lambda self: Client()))
    with pytest.raises(ObjectChanged):
        store.read_version("runs/run_x/input/a.md", ObjectVersion(5, '"etag"'))
    assert Body.asked == [6]
