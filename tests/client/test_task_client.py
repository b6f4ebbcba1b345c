"""TaskClient against a served app: handshake exactly once, runs from files, lost answers, progress, indexes."""
import io
import zipfile

import pytest
from sqlalchemy import select

from seecodes_client import (Conflict, LocalRefusal, RequestOutcomeUnknown, RunFailed, TaskClient,
                             parse_launch_url)
from seecodes_client import tasks as tasks_module
from seecodes_client.launch import CodeLedger
from seecodes.credits.models import UsageRow
from seecodes.extensions import db

from ..helpers import VSCODE_LINK_EXAMPLE
from ..runs.conftest import S3_BUCKET
from .conftest import LIST_MD, SQLITE_ONLY


def test_open_exchanges_the_https_link_and_reads_the_context(task_client):
    assert (task_client.permit.project_id, task_client.permit.task_id) == ("AUTH", "AUTH-128")
    assert task_client.context() == {"context": VSCODE_LINK_EXAMPLE["jiraContext"],
                                     "initialTai": VSCODE_LINK_EXAMPLE["initialTaiDoc"]}


def test_open_takes_a_vscode_link_and_the_backend_url(base_url, launch_link):
    client = TaskClient.open(launch_link()["vscodeUrl"], base_url=base_url, ledger=CodeLedger())
    assert client.context()["context"]["title"] == "Implement auth flow"


@SQLITE_ONLY
def test_a_vscode_link_without_a_backend_is_refused_locally(launch_link):
    with pytest.raises(LocalRefusal) as refused:
        TaskClient.open(launch_link()["vscodeUrl"], ledger=CodeLedger())
    assert refused.value.code == "backend_unknown"


@SQLITE_ONLY
def test_a_link_naming_another_backend_than_the_configured_one_is_refused(launch_link):
    with pytest.raises(LocalRefusal) as refused:
        TaskClient.open(launch_link()["httpsUrl"], base_url="https://elsewhere.example", ledger=CodeLedger())
    assert refused.value.code == "backend_mismatch"


def test_a_second_exchange_of_a_code_is_refused_locally_and_never_sent(base_url, launch_link, dropping):
    ledger = CodeLedger()
    link = launch_link()["httpsUrl"]
    first = TaskClient.open(link, base_url=base_url, ledger=ledger, session=dropping)
    with pytest.raises(LocalRefusal) as refused:
        TaskClient.open(link, base_url=base_url, ledger=ledger, session=dropping)
    assert refused.value.code == "launch_code_already_used"
    assert len([url for _, url in dropping.sent if "launch-exchange" in url]) == 1
    assert first.context() is not None  # the first permit was not revoked


@SQLITE_ONLY
def test_the_ledger_file_refuses_a_code_across_processes(base_url, tmp_path, launch_link):
    link = launch_link()["httpsUrl"]
    TaskClient.open(link, base_url=base_url, ledger=CodeLedger(tmp_path / "codes"))
    with pytest.raises(LocalRefusal):
        TaskClient.open(link, base_url=base_url, ledger=CodeLedger(tmp_path / "codes"))
    assert (tmp_path / "codes").stat().st_mode & 0o777 == 0o600
    assert parse_launch_url(link).code not in (tmp_path / "codes").read_text()


def test_a_lost_exchange_answer_says_to_open_a_new_link(base_url, launch_link, dropping):
    ledger = CodeLedger()
    link = launch_link()["httpsUrl"]
    dropping.drop("POST", "/v1/security/launch-exchange")
    with pytest.raises(RequestOutcomeUnknown):
        TaskClient.open(link, base_url=base_url, ledger=ledger, session=dropping)
    with pytest.raises(LocalRefusal):
        TaskClient.open(link, base_url=base_url, ledger=ledger, session=dropping)
    assert TaskClient.open(launch_link()["httpsUrl"], base_url=base_url, ledger=ledger).context() is not None


def test_a_run_from_files_on_disk_ends_with_its_output(task_client, credits, tmp_path):
    (tmp_path / "list.md").write_bytes(LIST_MD)
    (tmp_path / "notes.txt").write_text("Remember the callback.\n")
    seen = []
    result = task_client.run("strict light", "generate change log", [tmp_path / "list.md", tmp_path / "notes.txt"],
                             on_status=lambda document: seen.append(document["status"]))
    assert result.succeeded and seen[-1] == "succeeded"
    assert "generate change log" in result.output
    assert result.start["estimatedCredits"] > 0
    assert task_client.output(result.run_id) == result.output
    assert "succeeded" in task_client.logs(result.run_id)
    archive = task_client.result_zip(result.run_id, tmp_path / "result.zip")
    assert zipfile.ZipFile(io.BytesIO(archive.read_bytes())).namelist()


@SQLITE_ONLY
def test_an_unreadable_input_is_refused_before_anything_is_sent(task_client, tmp_path, dropping):
    before = len(dropping.sent)
    with pytest.raises(LocalRefusal):
        task_client.run("strict light", "x", [tmp_path / "missing.md"])
    assert len(dropping.sent) == before


def test_a_lost_start_answer_is_retried_with_its_key_and_charges_once(app, task_client, credits, dropping, tenant):
    dropping.drop("POST", "/start")
    result = task_client.run("strict light", "generate change log", {"list.md": LIST_MD})
    assert result.succeeded and result.start["status"] == "queued"
    with app.app_context():
        rows = db.session.execute(select(UsageRow.type).where(UsageRow.run_id == result.run_id)).scalars().all()
    assert rows == ["task_run"]


def test_a_second_start_is_a_conflict(task_client, credits):
    result = task_client.run("strict light", "p", {"list.md": LIST_MD})
    with pytest.raises(Conflict) as refused:
        task_client.transport.post_json(f"/v1/tasks/{result.run_id}/start", {}, headers=task_client._headers())
    assert refused.value.code == "run_already_started"


@SQLITE_ONLY
def test_a_failed_run_raises_run_failed(task_client, credits, add_failing_model):
    with pytest.raises(RunFailed) as failed:
        task_client.run(add_failing_model, "p", {"list.md": LIST_MD})
    assert failed.value.run_id.startswith("run_")


@SQLITE_ONLY
def test_the_upload_handles_a_put_url_and_a_post_form_target(task_client, credits, monkeypatch):
    sent = []
    monkeypatch.setattr(task_client.transport, "send",
                        lambda method, url, **kwargs: sent.append((method, url, kwargs)) or _ok())
    task_client.upload("https://store.example/put?sig=1", "list.md", b"abc")
    task_client.upload({"url": "https://store.example/", "fields": {"key": "runs/r/input/list.md", "policy": "p"}},
                       "list.md", b"abc")
    (put_method, _, put), (post_method, post_url, post) = sent
    assert (put_method, put["data"]) == ("PUT", b"abc")
    assert (post_method, post_url) == ("POST", "https://store.example/")
    assert post["data"] == {"key": "runs/r/input/list.md", "policy": "p"}
    assert post["files"] == {"file": ("list.md", b"abc")}


def _ok():
    import requests

    response = requests.Response()
    response.status_code = 204
    return response


def test_progress_is_saved_and_read_back(task_client):
    assert task_client.progress() is None
    task_client.save_progress(ready=["Wrapper is live"], left=["Callback"], progress="67%", confidence="Medium")
    stored = task_client.progress()
    assert (stored["ready"], stored["left"], stored["progress"]) == (["Wrapper is live"], ["Callback"], "67%")


def test_an_activity_snapshot_is_scored(task_client):
    answer = task_client.activity_snapshot({"windowStartedAt": "2026-04-04T10:00:00.000Z",
                                            "windowEndedAt": "2026-04-04T10:15:00.000Z", "humanActiveMs": 420000,
                                            "locAdded": 28, "locRemoved": 11, "changedFilesCount": 2,
                                            "logicChange": True})
    assert answer["stored"] is True and answer["effortUnits"] > 0


def _tree(root, files):
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_index_sync_uploads_new_content_then_reuses_it(task_client, tmp_path):
    root = tmp_path / "project"
    _tree(root, {"src/auth.ts": "export class AuthGuard {}\n", "src/session.ts": "// session\n",
                 "README.md": "# Project\n", ".git/HEAD": "ref", "node_modules/x/index.js": "x"})
    first = task_client.sync_index(root)
    assert (first.files, first.uploaded, first.unchanged, first.total_files) == (3, 3, 0, 3)
    again = task_client.sync_index(root)
    assert (again.unchanged, again.uploaded) == (3, 0)
    (root / "src/auth.ts").rename(root / "src/guard.ts")
    moved = task_client.sync_index(root, previous_paths=again.paths)
    assert (moved.reused, moved.uploaded, moved.deleted, moved.total_files) == (1, 0, 1, 3)
    match = task_client.index_query([("src/guard.ts", moved.paths and _hash(root / "src/guard.ts"))])
    assert match["src/guard.ts"]["entry"]["short"] == "export class AuthGuard {}"


def _hash(path):
    from seecodes_client.indexing import file_hash

    return file_hash(path)


@SQLITE_ONLY
def test_index_upserts_are_chunked(task_client, monkeypatch):
    monkeypatch.setattr(tasks_module, "UPSERT_CHUNK_ENTRIES", 2)
    entries = {f"src/f{i}.ts": {"hash": f"{i:064x}", "short": f"file {i}"} for i in range(5)}
    totals = task_client.index_upsert(entries, ["src/old.ts"])
    assert (totals["upserted"], totals["deleted"], totals["totalFiles"], totals["requests"]) == (5, 0, 5, 4)


@SQLITE_ONLY
def test_an_oversized_upsert_chunk_is_halved_on_413(app, task_client, monkeypatch):
    app.config["MAX_CONTENT_LENGTH"] = 3000
    entries = {f"src/f{i}.ts": {"hash": f"{i:064x}", "short": "x" * 400} for i in range(8)}
    totals = task_client.index_upsert(entries)
    assert totals["upserted"] == 8 and totals["requests"] > 1


def test_a_refused_exchange_leaves_the_code_usable(base_url, launch_link, tmp_path):
    from seecodes_client import Forbidden

    ledger = CodeLedger(tmp_path / "codes")
    link = parse_launch_url(launch_link()["httpsUrl"])
    with pytest.raises(Forbidden) as refused:
        TaskClient.exchange(base_url, link.code, "AUTH", "AUTH-999", ledger=ledger)
    assert refused.value.code == "launch_code_binding_mismatch"
    assert TaskClient.exchange(base_url, link.code, "AUTH", "AUTH-128", ledger=ledger).context() is not None
    with pytest.raises(LocalRefusal):
        TaskClient.exchange(base_url, link.code, "AUTH", "AUTH-128", ledger=CodeLedger(tmp_path / "codes"))


def test_uploads_reach_s3_through_a_presigned_put_and_a_presigned_post(moto_url):
    """The two shapes of S3 upload targets, against moto's S3 server."""
    import boto3

    from seecodes_client.tasks import TaskClient as Client

    s3 = boto3.client("s3", endpoint_url=moto_url, region_name="us-east-1")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": S3_BUCKET, "Key": "runs/r1/input/a.md"},
                                        ExpiresIn=300)
    form = s3.generate_presigned_post(S3_BUCKET, "runs/r1/input/b.md", ExpiresIn=300)
    client = Client(moto_url, "unused-permit")
    client.upload(put_url, "a.md", b"put body")
    client.upload(form, "b.md", b"post body")
    read = lambda key: s3.get_object(Bucket=S3_BUCKET, Key=key)["Body"].read()
    assert (read("runs/r1/input/a.md"), read("runs/r1/input/b.md")) == (b"put body", b"post body")


def test_a_permit_minted_directly_drives_a_task_client(base_url, jira_client, tenant):
    answer = jira_client.task_permit("AUTH", "AUTH-7", user_account_id=tenant["principal"])
    client = TaskClient(base_url, answer["permit"], project_id="AUTH", task_id="AUTH-7")
    client.save_progress(left=["Everything"])
    assert client.progress()["left"] == ["Everything"]
