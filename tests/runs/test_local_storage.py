"""The local storage's signed upload and download URLs, served by the app itself."""
import os
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
from itsdangerous import TimestampSigner

from ..helpers import assert_envelope
from .conftest import LIST_MD


@pytest.fixture
def upload_url(runs, served):
    return runs.init().get_json()["uploads"]["list.md"]


def test_an_upload_is_stored_under_the_runs_input_prefix(app, runs, served):
    run_id, _ = runs.prepared()
    folder = app.config["SEECODES_STORAGE_DIR"] + f"/runs/{run_id}/input"
    assert sorted(os.listdir(folder)) == ["list.md"]
    with open(f"{folder}/list.md", "rb") as handle:
        assert handle.read() == LIST_MD


@pytest.mark.parametrize("app_overrides", [{"SEECODES_MAX_UPLOAD_BYTES": 64}])
def test_an_upload_cut_short_leaves_the_previous_file_whole_and_no_partial_one(app, runs, served):
    document = runs.init().get_json()
    url, run_id = document["uploads"]["list.md"], document["runId"]
    assert requests.put(url, data=b"first version", timeout=10).status_code == 200
    answer = requests.put(url, data=iter([b"y" * 40, b"y" * 40]), timeout=10)  # refused after its first chunk
    assert_envelope(answer, 413, "upload_too_large")
    folder = app.config["SEECODES_STORAGE_DIR"] + f"/runs/{run_id}/input"
    assert sorted(os.listdir(folder)) == ["list.md"]
    with open(f"{folder}/list.md", "rb") as handle:
        assert handle.read() == b"first version"


@pytest.mark.parametrize("app_overrides", [{"SEECODES_MAX_UPLOAD_BYTES": 64}])
def test_an_upload_over_the_size_limit_is_413(upload_url):
    assert_envelope(requests.put(upload_url, data=b"x" * 65, timeout=10), 413, "upload_too_large")


@pytest.mark.parametrize("app_overrides", [{"SEECODES_MAX_UPLOAD_BYTES": 64}])
def test_a_chunked_upload_over_the_size_limit_is_413(upload_url):
    answer = requests.put(upload_url, data=iter([b"x" * 40, b"x" * 40]), timeout=10)
    assert answer.status_code == 413


def test_a_tampered_signature_is_403(upload_url):
    assert_envelope(requests.put(upload_url[:-2] + "xx", data=b"x", timeout=10), 403, "storage_url_invalid")


def test_a_signature_names_exactly_one_file(upload_url):
    parts = urlsplit(upload_url)
    other = urlunsplit(parts._replace(path=parts.path.replace("list.md", "other.md")))
    assert_envelope(requests.put(other, data=b"x", timeout=10), 403, "storage_url_invalid")


def test_an_upload_url_does_not_download(upload_url):
    assert requests.put(upload_url, data=LIST_MD, timeout=10).status_code == 200
    assert_envelope(requests.get(upload_url, timeout=10), 403, "storage_url_invalid")


def test_an_expired_upload_url_is_403(upload_url, monkeypatch):
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 3601)
    assert_envelope(requests.put(upload_url, data=b"x", timeout=10), 403, "storage_url_expired")


def test_inputs_cannot_change_after_start(runs, served, funded):
    run_id, document = runs.prepared()
    assert runs.start(run_id).status_code == 200
    assert_envelope(runs.upload(document["uploads"]["list.md"], b"changed"), 409, "run_already_started")
