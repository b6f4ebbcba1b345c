"""Large answers stream in bounded memory, `logs --follow` reads each byte once, GETs retry, lost writes are named,
and Ctrl-C during `run` says what goes on."""
import io
import json
import re
import time
import tracemalloc

import pytest
from sqlalchemy import func, select

from seecodes_client import RequestOutcomeUnknown, ServerError, TaskClient
from seecodes_client.cli import EXIT_INTERRUPTED, EXIT_OK
from seecodes_client.store import Store
from seecodes_client.tasks import Permit

from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs.models import Run

from .conftest import LIST_MD, SQLITE_ONLY
from .fake_backend import Answer, fake_backend, json_answer

BIG = 48 * 1024 * 1024  # an output far above any bound the test puts on memory
MEMORY_BOUND = 4 * 1024 * 1024


class CountingSink(io.TextIOBase):
    """A terminal that keeps nothing: counts characters and keeps the first and last few."""

    def __init__(self):
        self.count, self.head, self.tail = 0, "", ""

    def write(self, text):
        self.count += len(text)
        if len(self.head) < 64:
            self.head += text[:64]
        self.tail = (self.tail + text)[-64:]
        return len(text)


def _big_body(size, block=b"0123456789abcdef" * 4096):
    sent = 0
    while sent < size:
        piece = block[: size - sent]
        sent += len(piece)
        yield piece


@pytest.fixture
def fake():
    with fake_backend() as backend:
        yield backend


@pytest.fixture
def opened(cli, fake):
    """The CLI with a session on the fake backend, as `open` leaves it."""
    Store(cli.folder).save_session(fake.url, Permit("the-permit", "AUTH", "AUTH-1", None, int(time.time()) + 3600))
    return cli


def _status(state, **extra):
    return json_answer({"ok": True, "status": {"status": state, "updatedAt": "2026-12-01T00:00:00Z", **extra}})


def test_a_large_output_streams_to_the_terminal_in_bounded_memory(opened, fake):
    fake.route("GET", "/v1/tasks/run_big/output")(
        lambda request: Answer(200, chunks=_big_body(BIG), length=BIG, headers={"Content-Type": "text/plain"}))
    sink = CountingSink()
    tracemalloc.start()
    try:
        code, _, err = opened("output", "run_big", stdout=sink)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert code == EXIT_OK, err
    assert sink.count == BIG and sink.head.startswith("0123456789abcdef")
    assert peak < MEMORY_BOUND, f"peak {peak} bytes"


def test_a_large_output_streams_into_json_and_into_a_file(opened, fake, tmp_path):
    fake.route("GET", "/v1/tasks/run_big/output")(
        lambda request: Answer(200, chunks=_big_body(BIG), length=BIG, headers={"Content-Type": "text/plain"}))
    sink = CountingSink()
    tracemalloc.start()
    try:
        code, _, _ = opened("--json", "output", "run_big", stdout=sink)
        code_file, out, _ = opened("--json", "output", "run_big", "--out", str(tmp_path / "output.md"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (code, code_file) == (EXIT_OK, EXIT_OK)
    assert sink.head.startswith('{\n  "runId": "run_big",\n  "output": "0123') and sink.tail.endswith('"ok": true\n}\n')
    assert (tmp_path / "output.md").stat().st_size == BIG and json.loads(out)["bytes"] == BIG
    assert peak < MEMORY_BOUND, f"peak {peak} bytes"


def test_the_result_zip_is_streamed_to_its_file(fake, tmp_path):
    fake.route("GET", "/v1/tasks/run_big")(lambda request: _status("succeeded", resultZipUrl=fake.url + "/zip?sig=x"))
    fake.route("GET", "/zip")(lambda request: Answer(200, chunks=_big_body(BIG), length=BIG))
    client = TaskClient(fake.url, "the-permit", project_id="AUTH", task_id="AUTH-1")
    tracemalloc.start()
    try:
        client.result_zip("run_big", tmp_path / "result.zip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "result.zip").stat().st_size == BIG and peak < MEMORY_BOUND
    assert "Authorization" not in fake.requests_to("/zip")[0].headers  # a presigned URL never gets the permit


class GrowingLog:
    """A run whose log grows by one line per status poll, served with or without Range and ETag."""

    def __init__(self, fake, *, ranges, etags, lines=5):
        self.lines = [f"2026-12-01T00:00:0{i}Z step {i} é\n".encode() for i in range(lines)]
        self.shown = 1
        self.body_bytes = 0  # log bytes sent in answers' bodies
        fake.route("GET", "/v1/tasks/run_1/logs")(self.logs)
        fake.route("GET", "/v1/tasks/run_1")(self.status)
        self.ranges, self.etags = ranges, etags

    def status(self, request):
        self.shown = min(self.shown + 1, len(self.lines))
        return _status("succeeded" if self.shown == len(self.lines) else "in_process")

    def logs(self, request):
        body = b"".join(self.lines[: self.shown])
        etag = f'"log-{len(body)}"'
        if self.etags and request.headers.get("If-None-Match") == etag:
            return Answer(304, None, {"ETag": etag})
        headers = {"Content-Type": "text/plain; charset=utf-8", **({"ETag": etag} if self.etags else {})}
        wanted = re.fullmatch(r"bytes=(\d+)-", request.headers.get("Range", ""))
        if self.ranges and wanted:
            start = int(wanted.group(1))
            if start >= len(body):
                return Answer(416, b"", {"Content-Range": f"bytes */{len(body)}"})
            self.body_bytes += len(body) - start
            return Answer(206, body[start:], {**headers, "Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"})
        self.body_bytes += len(body)
        return Answer(200, body, headers)

    @property
    def text(self):
        return b"".join(self.lines).decode()


@pytest.mark.parametrize("ranges,etags", [(True, True), (True, False), (False, True), (False, False)])
def test_following_a_log_yields_each_line_once_whatever_the_server_supports(fake, ranges, etags):
    log = GrowingLog(fake, ranges=ranges, etags=etags)
    client = TaskClient(fake.url, "the-permit", project_id="AUTH", task_id="AUTH-1")
    pieces = list(client.follow_logs("run_1", delays=iter(lambda: 0, 1), sleep=lambda _: None))
    assert "".join(pieces) == log.text


def test_with_ranges_a_followed_log_downloads_each_byte_once(fake):
    log = GrowingLog(fake, ranges=True, etags=True, lines=8)
    client = TaskClient(fake.url, "the-permit", project_id="AUTH", task_id="AUTH-1")
    text = "".join(client.follow_logs("run_1", delays=iter(lambda: 0, 1), sleep=lambda _: None))
    assert text == log.text
    assert log.body_bytes == len(log.text.encode())
    ranges = [r.headers.get("Range") for r in fake.requests_to("/v1/tasks/run_1/logs")]
    assert ranges[0] is None and len(ranges) > 2 and all(r and r.startswith("bytes=") for r in ranges[1:])


def test_the_cli_follows_logs_with_ranges(opened, fake):
    log = GrowingLog(fake, ranges=True, etags=True, lines=3)
    code, out, _ = opened("logs", "run_1", "--follow")
    assert (code, out) == (EXIT_OK, log.text)
    assert any("Range" in r.headers for r in fake.requests_to("/v1/tasks/run_1/logs"))


@pytest.mark.parametrize("failure", ["gateway_page", "dropped_connection", "503_envelope"])
def test_gets_retry_with_backoff_on_lost_answers_and_5xx(fake, failure):
    failures = []

    @fake.route("GET", "/v1/tasks/run_1")
    def status(request):
        if len(failures) < 2:
            failures.append(request)
            return {"gateway_page": Answer(502, b"<html>Bad Gateway</html>", {"Content-Type": "text/html"}),
                    "dropped_connection": Answer(drop=True),
                    "503_envelope": json_answer({"ok": False, "error": "database_unavailable", "detail": "x"},
                                                503)}[failure]
        return _status("queued")

    pauses = []
    client = TaskClient(fake.url, "the-permit", project_id="AUTH", task_id="AUTH-1", sleep=pauses.append)
    assert client.status("run_1")["status"] == "queued"
    assert len(pauses) == 2 and pauses[0] < pauses[1]  # backoff


def test_gets_give_up_after_their_retries(fake):
    fake.route("GET", "/v1/tasks/run_1/output")(lambda request: Answer(502, b"<html>down</html>"))
    client = TaskClient(fake.url, "the-permit", project_id="AUTH", task_id="AUTH-1", sleep=lambda _: None)
    with pytest.raises(ServerError) as failed:
        client.output("run_1")
    assert failed.value.status == 502
    assert len(fake.requests_to("/v1/tasks/run_1/output")) == 1 + len(client.retry_delays)


def _sent_with_keys(dropping, method, path_part):
    return [key for (sent_method, url), key in zip(dropping.sent, dropping.keys)
            if sent_method == method and path_part in url]


def test_a_lost_init_answer_is_retried_with_its_idempotency_key_and_makes_one_run(app, task_client, credits,
                                                                                  dropping):
    dropping.drop("POST", "/v1/tasks/init")
    result = task_client.run("strict light", "p", {"list.md": LIST_MD})
    assert result.succeeded
    keys = _sent_with_keys(dropping, "POST", "/v1/tasks/init")
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Run)).scalar_one() == 1


def test_an_init_whose_every_answer_is_lost_is_an_unknown_outcome(task_client, dropping):
    dropping.drop("POST", "/v1/tasks/init", times=10)
    with pytest.raises(RequestOutcomeUnknown) as lost:
        task_client.run("strict light", "p", {"list.md": LIST_MD})
    assert lost.value.code == "outcome_unknown" and "not started" in lost.value.detail


@SQLITE_ONLY
def test_a_gateway_page_instead_of_the_init_answer_is_retried_and_answered(task_client, dropping):
    dropping.gateway_error("POST", "/v1/tasks/init")
    assert task_client.init_run("strict light", ["list.md"])["runId"].startswith("run_")
    dropping.gateway_error("POST", "/v1/tasks/init", times=10)
    with pytest.raises(RequestOutcomeUnknown):
        task_client.init_run("strict light", ["list.md"])


def _usage_rows(app, run_id):
    with app.app_context():
        return db.session.execute(select(UsageRow.type).where(UsageRow.run_id == run_id)).scalars().all()


def test_a_gateway_page_instead_of_the_start_answer_is_retried_and_charged_once(app, task_client, credits,
                                                                                dropping):
    dropping.gateway_error("POST", "/start")
    result = task_client.run("strict light", "generate change log", {"list.md": LIST_MD})
    assert result.succeeded and result.start["status"] == "queued"
    keys = _sent_with_keys(dropping, "POST", "/start")
    assert len(keys) == 2 and keys[0] == keys[1]  # the same start, answered again by the backend
    assert _usage_rows(app, result.run_id) == ["task_run"]


@SQLITE_ONLY
def test_a_start_whose_every_answer_is_lost_is_an_unknown_outcome(task_client, credits, dropping):
    init = task_client.init_run("strict light", ["list.md"])
    task_client.upload(init["uploads"]["list.md"], "list.md", LIST_MD)
    dropping.gateway_error("POST", "/start", times=10)
    with pytest.raises(RequestOutcomeUnknown) as lost:
        task_client.start_run(init["runId"], "strict light", "p")
    assert f"seecodes status {init['runId']}" in lost.value.detail


@SQLITE_ONLY
def test_ctrl_c_while_a_run_is_followed_says_it_goes_on_is_charged_and_how_to_follow_it(cli, launch_link, credits,
                                                                                         tmp_path, monkeypatch):
    cli("open", launch_link()["httpsUrl"])
    (tmp_path / "list.md").write_bytes(LIST_MD)

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(TaskClient, "wait", interrupted)
    code, _, err = cli("run", "--model", "strict light", "--prompt", "p", str(tmp_path / "list.md"))
    run_id = re.search(r"run (run_\w+)", err).group(1)
    assert code == EXIT_INTERRUPTED
    assert "goes on on the server and is charged" in err and f"seecodes status {run_id} --follow" in err
    code, out, _ = cli("--json", "run", "--model", "strict light", "--prompt", "p", str(tmp_path / "list.md"))
    document = json.loads(out)
    assert (code, document["error"], document["started"]) == (EXIT_INTERRUPTED, "interrupted", True)
    assert document["runId"].startswith("run_")


def test_waiting_polls_with_if_none_match_and_follows_retry_after(fake):
    polls = []

    @fake.route("GET", "/v1/tasks/run_1")
    def status(request):
        polls.append(request.headers.get("If-None-Match"))
        if len(polls) == 4:
            return _status("succeeded")
        if len(polls) > 1:
            return Answer(304, None, {"ETag": 'W/"v1"', "Retry-After": "2"})
        answer = _status("in_process")
        answer.headers.update({"ETag": 'W/"v1"', "Retry-After": "2"})
        return answer

    pauses, seen = [], []
    client = TaskClient(fake.url, "the-permit", project_id="AUTH", task_id="AUTH-1")
    document = client.wait("run_1", sleep=pauses.append, on_status=lambda d: seen.append(d["status"]))
    assert document["status"] == "succeeded" and seen == ["in_process", "succeeded"]
    assert polls == [None, 'W/"v1"', 'W/"v1"', 'W/"v1"'] and pauses == [2.0, 2.0, 2.0]


@SQLITE_ONLY
def test_ctrl_c_during_run_on_a_terminal_offers_the_cancel_and_refunds_it(cli, launch_link, credits, credits_left,
                                                                          tmp_path, monkeypatch):
    from seecodes.runs import dispatch

    cli("open", launch_link()["httpsUrl"])
    (tmp_path / "list.md").write_bytes(LIST_MD)
    monkeypatch.setattr(dispatch, "enqueue", lambda run_id: None)  # still queued (charged) when Ctrl-C comes
    monkeypatch.setattr(TaskClient, "wait", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    monkeypatch.setattr("sys.stdin.isatty", lambda: True, raising=False)
    before = credits_left()
    code, out, err = cli("run", "--model", "strict light", "--prompt", "p", str(tmp_path / "list.md"))
    assert code == EXIT_INTERRUPTED and "Cancel it (its credits are refunded)? [y/N]" in err
    run_id = re.search(r"run (run_\w+)", err).group(1)
    assert f"Run {run_id} cancelled" in out + err
    assert credits_left() == before  # whatever the run had been charged came back
    code, out, _ = cli("--json", "status", run_id)
    assert json.loads(out)["status"]["status"] == "cancelled"


@SQLITE_ONLY
def test_seecodes_cancel_stops_a_run_and_says_what_was_refunded(cli, launch_link, credits, task_client,
                                                                monkeypatch):
    from seecodes.runs import dispatch

    monkeypatch.setattr(dispatch, "enqueue", lambda run_id: None)  # the run stays queued until cancelled
    cli("open", launch_link()["httpsUrl"])
    init = task_client.init_run("strict light", ["list.md"])
    task_client.upload(init["uploads"]["list.md"], "list.md", LIST_MD)
    started = task_client.start_run(init["runId"], "strict light", "p")
    code, out, _ = cli("--json", "cancel", init["runId"])
    document = json.loads(out)
    assert code == EXIT_OK and document["status"] == "cancelled"
    assert document["refundedCredits"] == started["estimatedCredits"]
    code, out, _ = cli("--json", "cancel", init["runId"])  # twice: the same answer
    assert json.loads(out)["refundedCredits"] == started["estimatedCredits"]
