"""Test helpers: Forge token signing, a Jira-app session that rotates request keys, IDE launch, the error envelope
assertion, the race helper and a loopback JSON server."""
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from seecodes.forge import dev

from .contract_examples import VSCODE_LINK_EXAMPLE

NEXT_KEY = "X-SeeCodes-Next-Request-Key"
REQUEST_KEY = "X-SeeCodes-Jira-Request-Key"

class ForgeSigner:
    def __init__(self, key, kid, app_id):
        self.key, self.kid, self.app_id = key, kid, app_id

    def claims(self, installation_id, cloud_id=None, principal=None, **kwargs):
        return dev.forge_claims(self.app_id, installation_id, cloud_id, principal, **kwargs)

    def token(self, installation_id, cloud_id=None, principal=None, **kwargs):
        return dev.sign(self.claims(installation_id, cloud_id, principal, **kwargs), self.key, self.kid)

    def sign(self, claims, **kwargs):
        return dev.sign(claims, self.key, self.kid, **kwargs)


class JiraSession:
    """Drives Jira-side routes like the Forge app: a fresh token per call and the current request key."""

    def __init__(self, client, signer, installation_id, cloud_id, principal, session_id=None):
        self.client, self.signer = client, signer
        self.installation_id, self.cloud_id, self.principal = installation_id, cloud_id, principal
        self.session_id = session_id
        self.key = None

    def auth(self):
        return {"Authorization": f"Bearer {self.signer.token(self.installation_id, self.cloud_id, self.principal)}"}

    def bootstrap(self):
        body = {"sessionId": self.session_id} if self.session_id else {}
        response = self.client.post("/v1/jira/request-key", json=body, headers=self.auth())
        assert response.status_code == 200, response.get_json()
        self.key = response.get_json()["requestKey"]
        return self.key

    def call(self, method, path, **kwargs):
        if self.key is None:
            self.bootstrap()
        headers = {**self.auth(), REQUEST_KEY: self.key, **kwargs.pop("headers", {})}
        response = self.client.open(path, method=method, headers=headers, **kwargs)
        if response.status_code < 400:
            self.key = response.headers[NEXT_KEY]
        return response

    def get(self, path, **kwargs):
        return self.call("GET", path, **kwargs)

    def post(self, path, **kwargs):
        return self.call("POST", path, **kwargs)

    def launch(self, project_id="AUTH", task_id="AUTH-128", **extra):
        """vscode-link then launch-exchange, as the IDE does; returns the permit."""
        body = {**VSCODE_LINK_EXAMPLE, "projectId": project_id, "taskId": task_id,
                "userAccountId": self.principal, **extra}
        link = self.post("/v1/security/vscode-link", json=body)
        assert link.status_code == 200, link.get_json()
        code = link.get_json()["launchCode"]
        exchange = self.client.post("/v1/security/launch-exchange",
                                    json={"code": code, "projectId": project_id, "taskId": task_id})
        assert exchange.status_code == 200, exchange.get_json()
        return exchange.get_json()["permit"]

    def permit(self, project_id="AUTH", task_id="AUTH-128"):
        response = self.post("/v1/security/task-permit",
                             json={"projectId": project_id, "taskId": task_id, "userAccountId": self.principal})
        assert response.status_code == 200, response.get_json()
        return response.get_json()["permit"]


def bearer(permit):
    return {"Authorization": f"Bearer {permit}"}


def assert_envelope(response, status: int, error: str | None = None):
    """The one error envelope: {"ok": false, "error": <code>, "detail": <text>} with exactly this status (and
    code, when given). Works for Flask test responses and `requests` responses alike; answers the body."""
    status_code = response.status_code
    if hasattr(response, "get_json"):
        body, text = response.get_json(silent=True), response.get_data(as_text=True)
    else:
        text = response.text
        try:
            body = response.json()
        except ValueError:
            body = None
    assert status_code == status, (status_code, text[:500])
    assert body is not None, text[:200]
    assert body["ok"] is False
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["detail"], str) and body["detail"]
    if error is not None:
        assert body["error"] == error, body
    return body


def race(count: int, call, timeout: float = 60) -> list:
    """Run ``call(index)`` in ``count`` threads released together by a barrier; answers the results in index
    order. An exception raised in a thread is its result, so the assertion shows it instead of losing it."""
    barrier = threading.Barrier(count)
    results = [None] * count

    def worker(index):
        barrier.wait()
        try:
            results[index] = call(index)
        except Exception as error:  # noqa: BLE001 (surfaced in the assertion)
            results[index] = error

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing thread did not finish"
    return results


def raced_statuses(results) -> list[int]:
    """The sorted HTTP statuses of a race, after checking that no thread raised."""
    failures = [result for result in results if isinstance(result, Exception)]
    assert not failures, failures
    return sorted(result.status_code for result in results)


def pool_for(threads: int) -> dict:
    """Engine options whose pool lets every racing thread hold a connection at once (plus the test's own)."""
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "pool_size": threads + 2, "max_overflow": 4}}


@contextmanager
def sql_log(app):
    """Statements sent and commits made on the app's engine by this thread while the block runs (the test
    client serves the request in it; a run that an earlier test started may still be working in the embedded
    executor's thread on the same engine)."""
    from sqlalchemy import event

    from seecodes.extensions import db

    seen = {"statements": [], "commits": 0}
    with app.app_context():
        engine = db.engine
    this_thread = threading.get_ident()

    def on_statement(_conn, _cursor, statement, _params, _context, _many):
        if threading.get_ident() == this_thread:
            seen["statements"].append(statement)

    def on_commit(_conn):
        if threading.get_ident() == this_thread:
            seen["commits"] += 1

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine, "commit", on_commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine, "commit", on_commit)


def set_installation_status(app, installation_id: str, status: str) -> None:
    """Suspend (or reactivate) an installation, as an operator would."""
    from seecodes.extensions import db
    from seecodes.installations import service as installations

    with app.app_context():
        installations.get_by_installation_id(installation_id).status = status
        db.session.commit()


@contextmanager
def json_server(body: bytes, path: str = "/jwks.json"):
    """Serves `body` as JSON on a free loopback port (any path answers it). Yields (url, state):
    ``state["delay"]`` seconds to wait before each answer, ``state["served"]`` answers sent, ``state["asked"]``
    an event set on each request."""
    state = {"delay": 0.0, "served": 0, "asked": threading.Event()}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            state["asked"].set()
            time.sleep(state["delay"])
            state["served"] += 1
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{path}", state
    finally:
        server.shutdown()
        thread.join(timeout=5)
