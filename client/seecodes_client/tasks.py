"""TaskClient: the editor's side of the API, authenticated by a task permit obtained from a launch code."""
from __future__ import annotations

import codecs
import json as jsonlib
import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import requests

from . import errors
from .indexing import SyncReport, sync
from .launch import DEFAULT_LEDGER, CodeLedger, parse_launch_url
from .transport import (CHUNK_BYTES, DEFAULT_TIMEOUT, PublicRoutes, Transport, error_from, is_lost_answer,
                        path_segment)
from .trust import choose_backend

FINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})  # cancelled: servers with run control
# The server's limits on project-index requests (docs/project-indexes.md); the client stays well under them.
MAX_INDEX_ITEMS = 5000
UPSERT_CHUNK_ENTRIES = 1000
UPSERT_CHUNK_BYTES = 4 * 1024 * 1024
# Pauses before each retry of a GET that got no answer or a 5xx: about 7.5 s in all, then the error.
GET_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
# A run write (init, start, cancel) whose answer was lost is sent again with the same Idempotency-Key after these
# pauses: the backend answers the first answer again, so a retry never doubles a run or a charge.
WRITE_RETRY_DELAYS = (0.5, 2.0)
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_POLL_PAUSE = 30.0  # a server's Retry-After is followed up to this many seconds
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(?:\d+|\*)")


@dataclass(frozen=True)
class Permit:
    """A task permit and its binding, as launch-exchange (or task-permit) answered it."""

    permit: str
    project_id: str
    task_id: str
    cloud_id: str | None = None
    expires_at: int | None = None

    @classmethod
    def from_answer(cls, answer: Mapping[str, Any]) -> "Permit":
        return cls(answer["permit"], answer["projectId"], answer["taskId"], answer.get("cloudId"),
                   answer.get("expiresAt"))

    def to_dict(self) -> dict:
        return {"permit": self.permit, "projectId": self.project_id, "taskId": self.task_id,
                "cloudId": self.cloud_id, "expiresAt": self.expires_at}


@dataclass
class RunResult:
    """A settled (or started) run: its id, last status document, the start answer and, once read, the output."""

    run_id: str
    status: dict
    start: dict = field(default_factory=dict)
    output: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status.get("status") == "succeeded"


def backoff(first: float = 0.25, factor: float = 1.5, ceiling: float = 5.0) -> Iterator[float]:
    """Poll delays: quick at first (most offline runs settle in well under a second), then slower."""
    delay = first
    while True:
        yield delay
        delay = min(ceiling, delay * factor)


class TaskClient(PublicRoutes):
    """Everything the editor does for one Jira task: context, runs, progress, activity, project index.

    Build it from a launch link (``TaskClient.open(url)``), from a code (``TaskClient.exchange(base_url,
    code, project_id, task_id)``) or from a permit you already hold (``TaskClient(base_url, permit)``).
    """

    def __init__(self, base_url: str, permit: Permit | str, *, project_id: str = "", task_id: str = "",
                 timeout: float = DEFAULT_TIMEOUT, session: requests.Session | None = None,
                 retry_delays: Iterable[float] = GET_RETRY_DELAYS, sleep: Callable[[float], None] = time.sleep):
        """``permit`` is a Permit, or the bare token with its ``project_id`` / ``task_id`` binding.

        GETs that get no answer or a 5xx are retried after each of ``retry_delays`` (seconds, slept with
        ``sleep``); a write is sent again only with its Idempotency-Key, so the backend does it once (see
        ``_idempotent_write``).
        """
        self.transport = Transport(base_url, timeout=timeout, session=session)
        self.permit = permit if isinstance(permit, Permit) else Permit(permit, project_id, task_id)
        self.retry_delays = tuple(retry_delays)
        self.sleep = sleep

    # --- the handshake ---------------------------------------------------------------------------------

    @classmethod
    def exchange(cls, base_url: str, code: str, project_id: str, task_id: str, *, ledger: CodeLedger | None = None,
                 timeout: float = DEFAULT_TIMEOUT, session: requests.Session | None = None,
                 **options: Any) -> "TaskClient":
        """``POST /v1/security/launch-exchange``, exactly once per code.

        The code is recorded in ``ledger`` before it is sent; a second attempt raises ``LocalRefusal``
        without sending anything. If the answer is lost the code may be spent: ``RequestOutcomeUnknown``
        says to open a new launch link (sending the code again would revoke the permit it gave).
        """
        transport = Transport(base_url, timeout=timeout, session=session)
        ledger = ledger or DEFAULT_LEDGER
        ledger.claim(code)
        try:
            answer = transport.post_json("/v1/security/launch-exchange",
                                         {"code": code, "projectId": project_id, "taskId": task_id})
        except errors.RedirectRefused:
            raise  # the code stays claimed: whoever redirected may have let it through first
        except errors.ApiError as error:
            if not isinstance(error.body, dict):  # a proxy's error page: the backend may have used the code
                raise errors.RequestOutcomeUnknown(
                    f"The launch exchange got no answer from the backend (HTTP {error.status}); the code may "
                    "already be spent. Open a new launch link from Jira.", code="outcome_unknown",
                    status=error.status, method="POST", url=error.url) from error
            if error.code != "launch_code_replayed":
                ledger.release(code)  # the backend refused without consuming: only a success consumes a code
            raise
        except errors.ConnectionFailed as error:
            if not error.sent:
                ledger.release(code)  # the code never left this machine
                raise
            raise errors.RequestOutcomeUnknown(
                "The launch-exchange answer was lost; the code may already be spent. Open a new launch link "
                "from Jira (exchanging this code again would revoke its permit).", code="outcome_unknown",
                method="POST", url=error.url) from error
        permit = _bound_permit(answer, project_id, task_id, base_url)
        return cls(base_url, permit, timeout=timeout, session=transport.session, **options)

    @classmethod
    def open(cls, launch_url: str, *, base_url: str | None = None, trusted: Iterable[str] = (),
             trust_link: bool = False, ledger: CodeLedger | None = None, timeout: float = DEFAULT_TIMEOUT,
             session: requests.Session | None = None, **options: Any) -> "TaskClient":
        """Exchange the code of a ``vscode://`` or https launcher link with a backend you trust.

        The code goes to ``base_url`` (your backend) or to one of the ``trusted`` backends; a link that
        names another backend (an https launcher's own host, a vscode:// link's ``baseUrl``) is refused
        with ``LocalRefusal`` unless ``trust_link`` says you checked it: a crafted link must not send your
        permit and files to somebody else's server (see ``trust.choose_backend``). ``options`` go to the
        constructor (``retry_delays``, ``sleep``).
        """
        link = parse_launch_url(launch_url)
        backend = choose_backend(link, base_url, list(trusted), trust_link=trust_link)
        return cls.exchange(backend, link.code, link.project_id, link.task_id, ledger=ledger, timeout=timeout,
                            session=session, **options)

    # --- plumbing --------------------------------------------------------------------------------------

    def _headers(self) -> dict:
        return {"Authorization": f"Bearer {self.permit.permit}"}

    def _get(self, path: str, *, headers: Mapping[str, str] | None = None, params: Mapping[str, Any] | None = None,
             stream: bool = False, accept: Iterable[int] = (), credential: bool = True) -> requests.Response:
        """A GET, retried with backoff on no answer and on 5xx (reading twice changes nothing).

        ``accept`` lists error statuses answered as they are instead of raised; ``credential=False`` is
        for presigned storage URLs, which never get the permit.
        """
        delays = iter(self.retry_delays)
        sent = {**(self._headers() if credential else {}), **(headers or {})}
        while True:
            try:
                response = self.transport.send("GET", path, headers=sent, params=params, stream=stream)
            except errors.ConnectionFailed:
                delay = next(delays, None)
                if delay is None:
                    raise
                self.sleep(delay)
                continue
            if response.status_code >= 500:
                delay = next(delays, None)
                if delay is not None:
                    response.close()
                    self.sleep(delay)
                    continue
            if response.status_code in set(accept):
                return response
            return Transport.check(response)

    def _get_json(self, path: str, **kwargs) -> dict:
        return Transport.document(self._get(path, **kwargs))

    def _post_json(self, path: str, body: Any) -> dict:
        return self.transport.post_json(path, body, headers=self._headers())

    # --- context, progress, activity -------------------------------------------------------------------

    def context(self) -> dict | None:
        """``GET /v1/tasks/context``: ``{"context": …, "initialTai": …}``, or None when Jira stored none."""
        try:
            answer = self._get_json("/v1/tasks/context")
        except errors.NotFound:
            return None
        return {"context": answer.get("context"), "initialTai": answer.get("initialTai")}

    def save_progress(self, document: Mapping[str, Any] | None = None, **fields: Any) -> None:
        """``POST /v1/tasks/{taskId}/progress``: replace the task's ready / left / risk document.

        Fields: ``ready``, ``left``, ``risks``, ``logs`` (lists of lines), ``progress``, ``confidence``.
        """
        self._post_json(f"/v1/tasks/{path_segment(self.permit.task_id)}/progress", {**(document or {}), **fields})

    def progress(self) -> dict | None:
        """``GET /v1/tasks/{taskId}/progress``: the stored document (with ``updatedAt``), or None."""
        return self._get_json(f"/v1/tasks/{path_segment(self.permit.task_id)}/progress",
                              params={"projectId": self.permit.project_id})["progress"]

    def activity_snapshot(self, snapshot: Mapping[str, Any]) -> dict:
        """``POST /v1/tasks/activity-snapshot``: ``{"stored", "timestamp", "effortUnits"}``."""
        answer = self._post_json("/v1/tasks/activity-snapshot", dict(snapshot))
        return {k: answer[k] for k in ("stored", "timestamp", "effortUnits") if k in answer}

    # --- runs ------------------------------------------------------------------------------------------

    def _idempotent_write(self, path: str, body: Any, what: str, hint: str = "") -> dict:
        """POST a run write with an ``Idempotency-Key`` and, when its answer is lost (none arrives after the request
        was sent, or a gateway's 502/503/504 page stands in for the backend's), send it again with the same key:
        the backend answers the first answer again instead of doing the work twice. When every attempt is lost,
        ``RequestOutcomeUnknown``."""
        headers = {**self._headers(), IDEMPOTENCY_HEADER: uuid.uuid4().hex}
        lost: errors.SeeCodesError | None = None
        for delay in (*WRITE_RETRY_DELAYS, None):
            try:
                response = self.transport.send("POST", path, json=body, headers=headers)
            except errors.ConnectionFailed as error:
                if not error.sent and lost is None:
                    raise  # never reached the backend: nothing happened
                lost = error
            else:
                if not is_lost_answer(response):
                    return Transport.document(response)
                lost = error_from(response)
            if delay is not None:
                self.sleep(delay)
        raise errors.RequestOutcomeUnknown(
            f"The answer to {what} was lost {len(WRITE_RETRY_DELAYS) + 1} times ({lost}).{hint}", code="outcome_unknown",
            method="POST", url=self.transport.url(path)) from lost

    def init_run(self, model: str, files: Iterable[str]) -> dict:
        """``POST /v1/tasks/init``: ``runId`` and one upload target per file name. Retried with its Idempotency-Key
        when the answer is lost, so it creates one run; ``RequestOutcomeUnknown`` when every answer is lost (an
        unstarted run costs nothing: call again)."""
        return self._idempotent_write("/v1/tasks/init", {"model": model, "files": list(files)}, "init",
                                      " A run may have been created; it is not started and costs nothing: run again.")

    def upload(self, target: Any, name: str, data: bytes) -> None:
        """Send one input file to the upload target that init answered.

        A target is a URL to PUT the raw bytes to, or an object ``{"url", "fields"}`` for a presigned POST
        form (the fields first, the file last, as S3 wants), or ``{"url", "method", "headers"}``.
        Storage URLs are presigned: the permit is not sent to them.
        """
        if isinstance(target, str):
            url, method, headers, fields = target, "PUT", {}, None
        elif isinstance(target, Mapping) and isinstance(target.get("url"), str):
            url = target["url"]
            fields = target.get("fields")
            method = str(target.get("method") or ("POST" if fields is not None else "PUT")).upper()
            headers = dict(target.get("headers") or {})
        else:
            raise errors.LocalRefusal(f"Unrecognised upload target for {name!r}.", code="bad_upload_target")
        if fields is not None:
            response = self.transport.send(method, url, headers=headers, data=dict(fields),
                                           files={"file": (name, data)})
        else:
            response = self.transport.send(method, url, headers=headers, data=data)
        Transport.check(response)

    def start_run(self, run_id: str, model: str | None = None, prompt: str | None = None) -> dict:
        """``POST /v1/tasks/{runId}/start``, retried with its Idempotency-Key when the answer is lost: the run is
        queued and charged once. ``RequestOutcomeUnknown`` when every answer is lost (the run may be started:
        ``seecodes status RUN`` tells before starting it again)."""
        return self._idempotent_write(f"/v1/tasks/{path_segment(run_id)}/start",
                                      {"model": model, "userPrompt": prompt}, f"the start of {run_id}",
                                      f" The run may be started and charged: check with `seecodes status {run_id}` "
                                      "before starting it again.")

    def cancel(self, run_id: str) -> dict:
        """``POST /v1/tasks/{runId}/cancel``: ``{"runId", "status": "cancelled", "refundedCredits"}``. A run that has
        not settled stops and its debit is refunded; a succeeded or failed one raises ``Conflict``
        (``run_already_settled``)."""
        return self._idempotent_write(f"/v1/tasks/{path_segment(run_id)}/cancel", None, f"the cancel of {run_id}")

    def status(self, run_id: str) -> dict:
        """``GET /v1/tasks/{runId}``: the status document (``status``, ``updatedAt``, ``error``, ``resultZipUrl``)."""
        return self._get_json(f"/v1/tasks/{path_segment(run_id)}")["status"]

    def output(self, run_id: str) -> str:
        """``GET /v1/tasks/{runId}/output``: the text artifact of a succeeded run (409 before), in memory.

        For an answer of any size use ``iter_output`` (chunks) or ``save_output`` (a file).
        """
        return self._get(f"/v1/tasks/{path_segment(run_id)}/output").text

    def iter_output(self, run_id: str, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The output's bytes in chunks: memory stays bounded however large the output is."""
        return Transport.iter_body(self._get(f"/v1/tasks/{path_segment(run_id)}/output", stream=True), chunk_size)

    def save_output(self, run_id: str, destination: str | Path) -> Path:
        """Stream the output into a file (written whole or not at all)."""
        return save_chunks(self.iter_output(run_id), destination)

    def logs(self, run_id: str) -> str:
        """``GET /v1/tasks/{runId}/logs``: the log so far, in memory (``iter_logs`` streams it)."""
        return self._get(f"/v1/tasks/{path_segment(run_id)}/logs").text

    def iter_logs(self, run_id: str, chunk_size: int = CHUNK_BYTES) -> Iterator[bytes]:
        """The log so far in chunks of bytes."""
        return Transport.iter_body(self._get(f"/v1/tasks/{path_segment(run_id)}/logs", stream=True), chunk_size)

    def result_zip(self, run_id: str, destination: str | Path) -> Path:
        """Stream the succeeded run's result zip (output and log) from its presigned URL into a file."""
        url = self.status(run_id).get("resultZipUrl")
        if not url:
            raise errors.LocalRefusal(f"Run {run_id} has no result zip (it has not succeeded).", code="no_result_zip")
        return save_chunks(Transport.iter_body(self._get(url, stream=True, credential=False)), destination)

    def wait(self, run_id: str, *, timeout: float | None = 1800.0, on_status: Callable[[dict], None] | None = None,
             delays: Iterator[float] | None = None, sleep: Callable[[float], None] = time.sleep) -> dict:
        """Poll with backoff until the run settles; ``on_status`` sees every status change.

        Polls are cheap where the server allows: the last ``ETag`` goes back as ``If-None-Match`` (a 304
        means nothing changed), and a ``Retry-After`` (seconds, at most MAX_POLL_PAUSE) replaces the
        client's own backoff for that pause.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        delays = delays or backoff()
        path = f"/v1/tasks/{path_segment(run_id)}"
        last, document, etag = None, None, None
        while True:
            response = self._get(path, headers={"If-None-Match": etag} if etag and document else None)
            if response.status_code != 304 or document is None:
                document = Transport.document(response)["status"]
                etag = response.headers.get("ETag")
            if document.get("status") != last:
                last = document.get("status")
                if on_status:
                    on_status(document)
            if last in FINAL_STATUSES:
                return document
            if deadline is not None and time.monotonic() >= deadline:
                raise errors.RunTimeout(run_id, f"Run {run_id} is still {last} after {timeout:g} s.")
            pause = next(delays)
            asked = _seconds(response.headers.get("Retry-After"))
            sleep(min(asked, MAX_POLL_PAUSE) if asked is not None else pause)

    def follow_logs(self, run_id: str, *, delays: Iterator[float] | None = None,
                    sleep: Callable[[float], None] = time.sleep) -> Iterator[str]:
        """Yield the log as it grows, until the run settles; each poll asks only for what is new.

        See ``LogFollower``: with a server that answers ``Range`` and ``If-None-Match`` every byte of the
        log is downloaded once; with one that does not, the client still yields each byte once.
        """
        delays = delays or backoff()
        follower = LogFollower(self, run_id)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        while True:
            settled = self.status(run_id).get("status") in FINAL_STATUSES
            for chunk in follower.read_new():
                text = decoder.decode(chunk)
                if text:
                    yield text
            if settled:
                tail = decoder.decode(b"", final=True)
                if tail:
                    yield tail
                return
            sleep(next(delays))

    def run(self, model: str, prompt: str | None, files: Mapping[str, bytes] | Iterable[str | Path], *,
            timeout: float | None = 1800.0, on_status: Callable[[dict], None] | None = None,
            on_run_id: Callable[[str], None] | None = None, on_started: Callable[[dict], None] | None = None,
            wait: bool = True, fetch_output: bool = True) -> RunResult:
        """init → upload every file → start → poll → output, in one call.

        ``files`` maps names to bytes, or lists paths on disk (sent under their base names). Each file is
        sent as a plain ``PUT`` of its bytes to init's ``uploads[name]`` (the contract's upload target on
        every deployment). ``on_run_id`` hears the run id once init answers, ``on_started`` the start
        answer (from then on the run is charged). Raises ``RunFailed`` when the run ends failed and
        ``RunTimeout`` when it does not settle in ``timeout``. With ``fetch_output=False`` the output is
        left on the server (read it with ``iter_output``).
        """
        contents = _read_inputs(files)
        init = self.init_run(model, list(contents))
        run_id = init["runId"]
        if on_run_id:
            on_run_id(run_id)
        for name, data in contents.items():
            self.upload(init["uploads"][name], name, data)
        started = self.start_run(run_id, model, prompt)
        if on_started:
            on_started(started)
        if not wait:
            return RunResult(run_id, {"status": started.get("status")}, started)
        document = self.wait(run_id, timeout=timeout, on_status=on_status)
        if document["status"] != "succeeded":
            raise errors.RunFailed(run_id, document.get("error") or f"The run ended {document['status']}.")
        return RunResult(run_id, document, started, self.output(run_id) if fetch_output else None)

    # --- project index ---------------------------------------------------------------------------------

    def index_query(self, items: Iterable[tuple[str, str]]) -> dict:
        """``POST /v1/projects/{projectId}/indexes/query`` in chunks: requested path -> match."""
        pairs = [{"path": path, "hash": digest} for path, digest in items]
        matches: dict = {}
        path = f"/v1/projects/{path_segment(self.permit.project_id)}/indexes/query"
        for start in range(0, len(pairs), MAX_INDEX_ITEMS):
            matches.update(self._post_json(path, {"items": pairs[start:start + MAX_INDEX_ITEMS]})["matches"])
        return matches

    def index_upsert(self, entries: Mapping[str, Mapping[str, Any]], delete_paths: Iterable[str] = ()) -> dict:
        """``POST /v1/projects/{projectId}/indexes/upsert`` in chunks under the server's limits.

        Chunks hold at most 1,000 entries and about 4 MiB of JSON; a 413 halves the chunk and tries
        again. Answers the totals (``upserted``, ``deleted``) and the last answer's ``totalFiles`` and
        ``updatedAt``.
        """
        path = f"/v1/projects/{path_segment(self.permit.project_id)}/indexes/upsert"
        totals = {"upserted": 0, "deleted": 0, "totalFiles": None, "updatedAt": None, "requests": 0}
        pending = list(entries.items())
        deletes = list(dict.fromkeys(delete_paths))

        def send(body: dict) -> None:
            answer = self._post_json(path, body)
            totals["upserted"] += answer["upserted"]
            totals["deleted"] += answer["deleted"]
            totals["totalFiles"], totals["updatedAt"] = answer["totalFiles"], answer["updatedAt"]
            totals["requests"] += 1

        while pending:
            chunk = _size_bounded(pending, UPSERT_CHUNK_ENTRIES, UPSERT_CHUNK_BYTES)
            while True:
                try:
                    send({"entries": dict(chunk), "deletePaths": []})
                    break
                except errors.BadRequest as error:
                    if error.status != 413 or len(chunk) == 1:
                        raise
                    chunk = chunk[: len(chunk) // 2]
            pending = pending[len(chunk):]
        for start in range(0, len(deletes), MAX_INDEX_ITEMS):
            send({"entries": {}, "deletePaths": deletes[start:start + MAX_INDEX_ITEMS]})
        return totals

    def sync_index(self, root: str | Path, **kwargs) -> SyncReport:
        """Hash a folder, reuse what the project index already has, upsert the rest; see ``indexing.sync``."""
        return sync(self, root, **kwargs)


class LogFollower:
    """Reads a growing log from where the previous read stopped.

    Each read sends ``Range: bytes=<offset>-`` and the last ``ETag`` as ``If-None-Match``, and takes what
    the server answers: 304 or 416 (nothing new), 206 from the offset (only the new bytes travel), or a
    plain 200 with the whole log (a server without ranges: the bytes already seen are skipped, as they
    stream, without keeping them).
    """

    def __init__(self, client: "TaskClient", run_id: str):
        self.client, self.path = client, f"/v1/tasks/{path_segment(run_id)}/logs"
        self.offset = 0
        self.etag: str | None = None
        self.ranges = True

    def read_new(self) -> Iterator[bytes]:
        headers = {}
        if self.offset and self.ranges:
            headers["Range"] = f"bytes={self.offset}-"
        if self.etag:
            headers["If-None-Match"] = self.etag
        response = self.client._get(self.path, headers=headers, stream=True, accept=(416,))
        if response.status_code in (304, 416):
            response.close()
            return
        skip = self.offset
        if response.status_code == 206:
            found = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not found or int(found.group(1)) > self.offset:  # not the range asked for: read it whole
                response.close()
                self.ranges = False
                yield from self.read_new()
                return
            skip = self.offset - int(found.group(1))
        etag = response.headers.get("ETag")
        for chunk in Transport.iter_body(response):
            if skip:
                if len(chunk) <= skip:
                    skip -= len(chunk)
                    continue
                chunk, skip = chunk[skip:], 0
            self.offset += len(chunk)
            yield chunk
        self.etag = etag


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


def save_chunks(chunks: Iterable[bytes], destination: str | Path) -> Path:
    """Write chunks to a temporary file beside ``destination``, then rename it: never a half-written file."""
    target = Path(destination)
    handle, temporary = tempfile.mkstemp(dir=target.parent if str(target.parent) else ".", prefix=".seecodes-")
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return target


def _bound_permit(answer: Mapping[str, Any], project_id: str, task_id: str, base_url: str) -> Permit:
    """The permit of a launch-exchange answer, if it is bound to the link's own project and task.

    A backend that answers a permit for another task (a broken or hostile one) would make every later
    command act on that task: nothing of such an answer is kept.
    """
    permit = answer.get("permit")
    if not isinstance(permit, str) or not permit or (answer.get("projectId"), answer.get("taskId")) != (
            project_id, task_id):
        raise errors.ServerError(
            f"The backend {base_url} answered a permit for {answer.get('projectId')!r}/{answer.get('taskId')!r}, "
            f"not for the link's {project_id}/{task_id}; nothing was stored.", code="permit_binding_mismatch",
            status=200)
    return Permit.from_answer(answer)




def _read_inputs(files: Mapping[str, bytes] | Iterable[str | Path]) -> dict[str, bytes]:
    if isinstance(files, Mapping):
        return {str(name): bytes(data) for name, data in files.items()}
    contents: dict[str, bytes] = {}
    for item in files:
        path = Path(item)
        if path.name in contents:
            raise errors.LocalRefusal(f"Two input files are named {path.name!r}; run inputs are sent by base name.",
                                      code="duplicate_input_name")
        try:
            contents[path.name] = path.read_bytes()
        except OSError as error:
            raise errors.LocalRefusal(f"Cannot read {path}: {error.strerror or error}.", code="unreadable_input")
    return contents


def _size_bounded(pending: list, max_count: int, max_bytes: int) -> list:
    """The longest prefix of ``pending`` within both bounds (at least one item)."""
    chunk, size = [], 0
    for item in pending[:max_count]:
        item_size = len(jsonlib.dumps(item, separators=(",", ":")).encode("utf-8"))
        if chunk and size + item_size > max_bytes:
            break
        chunk.append(item)
        size += item_size
    return chunk


__all__ = ["LogFollower", "Permit", "RunResult", "SyncReport", "TaskClient", "backoff", "save_chunks"]
