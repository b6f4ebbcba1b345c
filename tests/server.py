"""Serve an app over real HTTP on a free loopback port, for tests that need parallel requests."""
import contextlib
import threading

from werkzeug.serving import make_server


@contextlib.contextmanager
def serve(app):
    """Threaded werkzeug server in a background thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
