"""A scripted HTTP server on a loopback port, to play a broken or hostile backend (or a host it points to)."""
import contextlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    method: str
    path: str
    headers: dict
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes | None = b""
    headers: dict = field(default_factory=dict)
    chunks: object = None  # an iterable of bytes, sent instead of body (with Content-Length from `length`)
    length: int | None = None
    drop: bool = False  # close the connection without answering


def json_answer(document, status=200, **headers):
    return Answer(status, json.dumps(document).encode(), {"Content-Type": "application/json", **headers})


class FakeBackend:
    """``route(method, path_prefix)(handler)``: the handler takes the Seen request and returns an Answer.
    Every request is recorded in ``seen``; an unrouted one gets 404."""

    def __init__(self):
        self.routes = []
        self.seen: list[Seen] = []
        self.sent_bytes = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                request = Seen(self.command, self.path, dict(self.headers), self.rfile.read(length) if length else b"")
                fake.seen.append(request)
                answer = next((handler(request) for method, prefix, handler in fake.routes
                               if method == self.command and self.path.startswith(prefix)), None)
                answer = answer or json_answer({"ok": False, "error": "not_found", "detail": "x"}, 404)
                if answer.drop:
                    self.close_connection = True
                    self.connection.close()
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if answer.chunks is not None:
                    self.send_header("Content-Length", str(answer.length))
                    self.end_headers()
                    for chunk in answer.chunks:
                        self.wfile.write(chunk)
                        fake.sent_bytes += len(chunk)
                    return
                body = answer.body or b""
                if answer.status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body and self.command != "HEAD":
                    self.wfile.write(body)
                    fake.sent_bytes += len(body)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def route(self, method, prefix):
        def register(handler):
            self.routes.append((method, prefix, handler))
            return handler
        return register

    def requests_to(self, prefix):
        return [seen for seen in self.seen if seen.path.startswith(prefix)]


@contextlib.contextmanager
def fake_backend():
    backend = FakeBackend()
    thread = threading.Thread(target=backend.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield backend
    finally:
        backend.server.shutdown()
        backend.server.server_close()
        thread.join(timeout=5)
