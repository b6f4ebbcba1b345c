"""Local storage on a full disk: an upload answers 507 `insufficient_storage` in the error envelope and keeps
nothing half-written; /healthz still answers and /readyz says the storage folder is full; once space is
freed, the same upload URL works."""
import errno
import os

import pytest
import requests

from seecodes.storage import local

from ..disks import fill, small_filesystem
from ..helpers import assert_envelope
from .conftest import LIST_MD

pytestmark = pytest.mark.backends("sqlite")
LIMIT = 64 * 1024


@pytest.fixture
def app_overrides():
    return {"SEECODES_MAX_UPLOAD_BYTES": LIMIT, "SEECODES_METRICS_TOKEN": OPERATOR}


OPERATOR = "operator-token-of-the-full-disk-tests"
AS_OPERATOR = {"Authorization": f"Bearer {OPERATOR}"}  # /readyz details are the operator's (docs/security.md)


@pytest.fixture
def full_storage(app, tmp_path):
    """The app's storage folder on a small real filesystem that is full."""
    with small_filesystem(tmp_path / "small-disk") as mount:
        app.config["SEECODES_STORAGE_DIR"] = str(mount / "storage")
        (mount / "storage").mkdir()
        yield fill(mount)


def leftovers(app, run_id) -> list[str]:
    folder = os.path.join(app.config["SEECODES_STORAGE_DIR"], "runs", run_id, "input")
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def test_an_upload_to_a_full_disk_is_507_and_leaves_nothing(app, client, runs, served, full_storage):
    document = runs.init().get_json()
    answer = requests.put(document["uploads"]["list.md"], data=b"x" * 32 * 1024, timeout=10)
    body = assert_envelope(answer, 507, "insufficient_storage")
    assert "full" in body["detail"]
    assert leftovers(app, document["runId"]) == []

    assert client.get("/healthz").status_code == 200
    anonymous = client.get("/readyz")
    assert anonymous.status_code == 503 and anonymous.get_json()["reasons"] == ["storage_full"]
    ready = client.get("/readyz", headers=AS_OPERATOR)
    assert ready.status_code == 503
    storage_check = ready.get_json()["checks"]["storage"]
    assert storage_check["ok"] is False and "full" in storage_check["detail"]
    assert storage_check["freeBytes"] < LIMIT

    full_storage.unlink()  # space freed: the same URL uploads, and the storage is ready again
    assert requests.put(document["uploads"]["list.md"], data=LIST_MD, timeout=10).status_code == 200
    assert leftovers(app, document["runId"]) == ["list.md"]
    assert client.get("/readyz", headers=AS_OPERATOR).get_json()["checks"]["storage"]["ok"] is True


class FillsUp:
    """A file whose writes meet ENOSPC after `room` bytes, as a filling disk does."""

    def __init__(self, handle, room):
        self.handle, self.room = handle, room

    def write(self, chunk):
        if len(chunk) > self.room:
            self.handle.write(chunk[:self.room])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(chunk)
        return self.handle.write(chunk)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def test_an_upload_that_meets_enospc_is_507_and_keeps_the_previous_file_whole(app, runs, served, monkeypatch):
    """The same without mounting a filesystem: ENOSPC in the middle of the body, over an earlier upload."""
    document = runs.init().get_json()
    url, run_id = document["uploads"]["list.md"], document["runId"]
    assert requests.put(url, data=b"first version", timeout=10).status_code == 200
    opened = os.fdopen
    monkeypatch.setattr(local.os, "fdopen", lambda fd, mode: FillsUp(opened(fd, mode), 1000))
    answer = requests.put(url, data=b"y" * 5000, timeout=10)
    assert_envelope(answer, 507, "insufficient_storage")
    assert leftovers(app, run_id) == ["list.md"]
    with open(os.path.join(app.config["SEECODES_STORAGE_DIR"], "runs", run_id, "input", "list.md"), "rb") as kept:
        assert kept.read() == b"first version"


def test_other_os_errors_of_an_upload_are_not_taken_for_a_full_disk(app, runs, served, monkeypatch):
    document = runs.init().get_json()

    def refused(**kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(local.tempfile, "mkstemp", refused)
    answer = requests.put(document["uploads"]["list.md"], data=b"x", timeout=10)
    assert_envelope(answer, 503, "storage_unavailable")
    assert leftovers(app, document["runId"]) == []
