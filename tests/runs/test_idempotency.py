"""Idempotency-Key on init, start and cancel: the answer to a write that was lost on its way back is answered
again on retry, without the work being done twice (the answer really dropped between server and client by a
loopback proxy, not mocked); the same key with another request is a 422; a refused request keeps nothing."""
import socket
import socketserver
import threading
import uuid

import pytest
import requests
from sqlalchemy import func, select

from seecodes.credits.models import UsageRow
from seecodes.extensions import db
from seecodes.runs import dispatch
from seecodes.runs.models import Run

from ..helpers import assert_envelope
from .conftest import LIST_MD

pytestmark = pytest.mark.backends("sqlite", "postgresql", "production")


class DroppingProxy:
    """A loopback HTTP/1.0 proxy in front of the served app: it forwards each request and reads the server's whole
    answer, but while `drops` > 0 it resets the client's connection instead of passing that answer on."""

    def __init__(self, upstream: str):
        host, port = upstream.removeprefix("http://").split(":")
        self.upstream, self.drops, self.dropped = (host, int(port)), 0, []
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                request = _read_request(self.request)
                with socket.create_connection(proxy.upstream, timeout=30) as upstream:
                    upstream.sendall(request)
                    answer = b"".join(iter(lambda: upstream.recv(65536), b""))
                if proxy.drops > 0:
                    proxy.drops -= 1
                    proxy.dropped.append(answer)
                    self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    return  # closed with RST: the client sees its connection reset, no answer
                self.request.sendall(answer)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _read_request(connection) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += connection.recv(65536)
    # HTTP/1.0 upstream semantics: one request per connection, the answer ends when the server closes.
    head = b"\r\n".join(line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:"))
    return head + b"\r\nConnection: close\r\n\r\n" + body


@pytest.fixture
def proxy(served):
    found = DroppingProxy(served)
    yield found
    found.close()


def _send(proxy, runs, path, body=None, key=None):
    headers = {**runs.headers, **({"Idempotency-Key": key} if key else {})}
    return requests.post(proxy.url + path, json=body, headers=headers, timeout=30)


def _lost_then_retried(proxy, runs, path, body, key):
    proxy.drops = 1
    with pytest.raises(requests.ConnectionError):
        _send(proxy, runs, path, body, key)
    assert len(proxy.dropped) == 1 and b" 200 " in proxy.dropped[0].split(b"\r\n", 1)[0]
    retried = _send(proxy, runs, path, body, key)
    assert retried.status_code == 200 and retried.headers["Idempotent-Replayed"] == "true"
    assert retried.content == proxy.dropped[0].partition(b"\r\n\r\n")[2]  # the very answer that was lost
    return retried.json()


def _count(app, model, *conditions):
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(model).where(*conditions)).scalar_one()


def test_a_lost_init_answer_is_answered_again_and_one_run_exists(app, runs, proxy, funded):
    before = _count(app, Run)
    document = _lost_then_retried(proxy, runs, "/v1/tasks/init", {"model": "strict light", "files": ["list.md"]},
                                  str(uuid.uuid4()))
    assert _count(app, Run) == before + 1
    assert runs.send(document, "list.md", LIST_MD).status_code in (200, 204)  # the replayed upload targets work


def test_a_lost_start_answer_is_answered_again_and_charged_once(app, runs, proxy, funded, credits_of):
    run_id, _ = runs.prepared()
    answer = _lost_then_retried(proxy, runs, f"/v1/tasks/{run_id}/start", {"model": "strict light"},
                                str(uuid.uuid4()))
    assert answer["runId"] == run_id and answer["status"] == "queued"
    # What the retry must not do is start it twice: one debit, one usage row, the run past its start. (Its job
    # is the session worker's business; the job's own outcome is tested by the run-flow tests.)
    assert runs.status(run_id).get_json()["status"]["status"] != "initialized"
    assert _count(app, UsageRow, UsageRow.run_id == run_id) == 1
    assert credits_of(funded) == 1000 - answer["estimatedCredits"]


@pytest.mark.backends("sqlite", "postgresql")
def test_a_lost_cancel_answer_is_answered_again_and_refunded_once(app, runs, proxy, funded, credits_of,
                                                                  monkeypatch):
    monkeypatch.setattr(dispatch, "enqueue", lambda run_id: None)  # queued until cancelled
    run_id = runs.started()
    answer = _lost_then_retried(proxy, runs, f"/v1/tasks/{run_id}/cancel", None, str(uuid.uuid4()))
    assert answer["status"] == "cancelled" and answer["refundedCredits"] > 0
    assert credits_of(funded) == 1000
    assert _count(app, UsageRow, UsageRow.run_id == run_id, UsageRow.type == "refund") == 1


def test_the_same_key_with_another_body_is_422_and_does_nothing(app, runs, funded):
    key = str(uuid.uuid4())
    first = runs.client.post("/v1/tasks/init", json={"model": "strict light", "files": ["list.md"]},
                             headers={**runs.headers, "Idempotency-Key": key})
    assert first.status_code == 200
    before = _count(app, Run)
    other = runs.client.post("/v1/tasks/init", json={"model": "strict light", "files": ["other.md"]},
                             headers={**runs.headers, "Idempotency-Key": key})
    assert_envelope(other, 422, "idempotency_key_reused")
    assert _count(app, Run) == before
    same = runs.client.post("/v1/tasks/init", json={"model": "strict light", "files": ["list.md"]},
                            headers={**runs.headers, "Idempotency-Key": key})
    assert same.get_json() == first.get_json() and same.headers["Idempotent-Replayed"] == "true"


def test_a_refused_request_keeps_nothing_so_its_key_can_be_retried(runs, funded):
    key = str(uuid.uuid4())
    refused = runs.client.post("/v1/tasks/init", json={"model": "no such model"},
                               headers={**runs.headers, "Idempotency-Key": key})
    assert refused.status_code == 422
    accepted = runs.client.post("/v1/tasks/init", json={"model": "no such model", "files": ["list.md"]},
                                headers={**runs.headers, "Idempotency-Key": key})
    assert accepted.status_code == 422 and "Idempotent-Replayed" not in accepted.headers


def test_keys_belong_to_their_installation_and_task(runs, funded, jira, client):
    key = str(uuid.uuid4())
    body = {"model": "strict light"}
    assert runs.client.post("/v1/tasks/init", json=body, headers={**runs.headers, "Idempotency-Key": key}).status_code == 200
    other_task = {"Authorization": f"Bearer {jira.permit('AUTH', 'AUTH-999')}", "Idempotency-Key": key}
    assert_envelope(client.post("/v1/tasks/init", json=body, headers=other_task), 422, "idempotency_key_reused")


def test_a_malformed_key_is_422(runs):
    answer = runs.client.post("/v1/tasks/init", json={"model": "strict light"},
                              headers={**runs.headers, "Idempotency-Key": "a b"})
    assert_envelope(answer, 422, "idempotency_key_invalid")


def test_without_a_key_each_init_is_a_new_run(app, runs):
    before = _count(app, Run)
    assert runs.init().status_code == runs.init().status_code == 200
    assert _count(app, Run) == before + 2
