"""Fixtures of the run tests: a run-driving client, a fake OpenAI-compatible server, catalog and credit helpers.
The production deployment (moto's S3 server, Redis, worker subprocesses) is in tests/production.py."""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from sqlalchemy import event

from seecodes.catalog.models import CatalogModel
from seecodes.extensions import db
from seecodes.runs import dispatch
from seecodes.runs.models import FINAL_STATUSES
from seecodes.runs.reaper import reap

from ..contract_examples import RUN_INIT_EXAMPLE, RUN_START_EXAMPLE
from ..helpers import bearer
from ..production import (  # noqa: F401 (re-exported for the run tests)
    AWS_ENV, FAKE_KEY, FAKE_KEY_ENV, ROOT, S3_BUCKET, WorkerProcess, production_overrides)
from ..server import serve

EXAMPLE_INIT, EXAMPLE_START = RUN_INIT_EXAMPLE, RUN_START_EXAMPLE
LIST_MD = (b"# Auth flow\n\n## Steps\n\n- [x] Protected-route wrapper is live\n- [ ] Callback validation\n"
           b"- [ ] Session refresh\n\nTODO: cover the identity provider payload\n")
POLL_SECONDS = 0.02


class RunDriver:
    """The IDE's side of a run: the API through the test client, uploads over real HTTP."""

    def __init__(self, client, permit):
        self.client, self.headers = client, bearer(permit)

    def init(self, body=None):
        return self.client.post("/v1/tasks/init", json=EXAMPLE_INIT if body is None else body, headers=self.headers)

    def start(self, run_id, body=None):
        return self.client.post(f"/v1/tasks/{run_id}/start", json=EXAMPLE_START if body is None else body,
                                headers=self.headers)

    def status(self, run_id):
        return self.client.get(f"/v1/tasks/{run_id}", headers=self.headers)

    def output(self, run_id):
        return self.client.get(f"/v1/tasks/{run_id}/output", headers=self.headers)

    def logs(self, run_id):
        return self.client.get(f"/v1/tasks/{run_id}/logs", headers=self.headers)

    @staticmethod
    def upload(url, data: bytes):
        return requests.put(url, data=data, timeout=10)

    @classmethod
    def send(cls, document, name, data: bytes):
        """Upload one input as the contract says, on every deployment: PUT the raw bytes to uploads[name]."""
        return cls.upload(document["uploads"][name], data)

    @staticmethod
    def post_form(document, name, data: bytes):
        """Upload one input with the optional presigned POST form of S3 (`uploadForms`)."""
        form = document["uploadForms"][name]
        return requests.post(form["url"], data=form["fields"], files={"file": (name, data)}, timeout=10)

    def prepared(self, files=None, model="strict light"):
        """An initialized run with every file uploaded; answers (runId, init answer)."""
        files = {"list.md": LIST_MD} if files is None else files
        answer = self.init({"model": model, "files": list(files)})
        assert answer.status_code == 200, answer.get_json()
        document = answer.get_json()
        for name, data in files.items():
            uploaded = self.send(document, name, data)
            assert uploaded.status_code in (200, 204), uploaded.text
        return document["runId"], document

    def started(self, files=None, model="strict light", prompt="generate change log"):
        run_id, _ = self.prepared(files, model)
        answer = self.start(run_id, {"model": model, "userPrompt": prompt})
        assert answer.status_code == 200, answer.get_json()
        return run_id

    def wait(self, run_id, until=FINAL_STATUSES, limit=60.0):
        """Poll like the IDE until the status is one of `until` (the limit only stops a hung test)."""
        deadline = time.monotonic() + limit
        while True:
            document = self.status(run_id).get_json()["status"]
            if document["status"] in until or time.monotonic() > deadline:
                return document
            time.sleep(POLL_SECONDS)


@pytest.fixture
def statements(app):
    """The first word of each SQL statement the test's thread sends while the fixture's list is live."""
    seen, me = [], threading.get_ident()

    def record(conn, cursor, statement, *args):
        if threading.get_ident() == me:
            seen.append(statement.lstrip().split(None, 1)[0].upper())

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


@pytest.fixture
def runs(client, permit, app):
    yield RunDriver(client, permit)
    dispatch.shutdown(app)  # let in-process runs end before the app's engine goes away


@pytest.fixture
def installation_id(jira):
    jira.bootstrap()
    return jira.installation_id


@pytest.fixture
def funded(grant, installation_id):
    grant(installation_id, 1000)
    return installation_id


@pytest.fixture
def credits_of(app):
    from seecodes.installations import service

    def read(installation_id):
        with app.app_context():
            return service.get_by_installation_id(installation_id).credits

    return read


@pytest.fixture
def usage_of(app):
    from sqlalchemy import select

    from seecodes.credits.models import UsageRow

    def read(run_id):
        with app.app_context():
            rows = db.session.execute(select(UsageRow).where(UsageRow.run_id == run_id).order_by(UsageRow.id))
            return [(row.type, row.credits, row.task_id, row.user_account_id) for row in rows.scalars()]

    return read


@pytest.fixture
def served(app):
    """The app on a real HTTP server; the local storage's signed URLs point at it."""
    with serve(app) as url:
        app.config["SEECODES_PUBLIC_BASE_URL"] = url
        yield url


@pytest.fixture
def add_model(app):
    """Add a catalog entry (the worker subprocess reads the same database)."""

    def add(model_id, provider="openai", config=None, max_context=100000, base=1.0, per_token=0.001):
        with app.app_context():
            db.session.add(CatalogModel(id=model_id, name=model_id, description="test", max_context=max_context,
                                        pricing_base=base, pricing_per_token=per_token, provider=provider,
                                        provider_config=config or {}, enabled=True, position=9))
            db.session.commit()
        return model_id

    return add


class FakeOpenAI:
    """An OpenAI-compatible chat-completions server; the first path segment picks the behaviour:
    /ok, /fail (always 500), /flaky (one 500, then ok), /slow (answers after 2 s), /sleepN (after N s),
    /hang (until released)."""

    def __init__(self):
        self.requests = []
        self.release = threading.Event()
        self.seen = {}
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                mode = self.path.strip("/").split("/")[0]
                fake.seen[mode] = fake.seen.get(mode, 0) + 1
                if mode == "fail" or (mode == "flaky" and fake.seen[mode] == 1):
                    return self._send(500, {"error": {"message": "upstream exploded"}})
                if mode == "slow":
                    time.sleep(2)
                if mode.startswith("sleep"):
                    time.sleep(float(mode[len("sleep"):]))
                if mode == "hang":
                    fake.release.wait(60)
                self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "model": body.get("model"),
                                 "choices": [{"index": 0, "finish_reason": "stop", "message": {
                                     "role": "assistant", "content": f"# Change log\n\nmodel {body.get('model')}\n"}}],
                                 "usage": {"prompt_tokens": 321, "completion_tokens": 12, "total_tokens": 333}})

            def _send(self, status, document):
                payload = json.dumps(document).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def config(self, mode, **extra):
        return {"baseUrl": f"{self.url}/{mode}/v1", "model": f"fake-{mode}", "apiKeyEnv": "SEECODES_TEST_FAKE_KEY",
                "timeoutSeconds": 5, "maxRetries": 2, "retryBackoffSeconds": 0.01, **extra}


@pytest.fixture(scope="session")
def fake_openai():
    fake = FakeOpenAI()
    fake.thread.start()
    os.environ[FAKE_KEY_ENV] = FAKE_KEY
    yield fake
    fake.release.set()
    fake.server.shutdown()


@pytest.fixture
def hanging(add_model, fake_openai):
    """A model whose provider does not answer until the test ends."""
    fake_openai.release.clear()
    yield add_model("fake hang", config=fake_openai.config("hang", timeoutSeconds=60))
    fake_openai.release.set()


def reap_now(app):
    """One reaper pass in the app, as `flask runs reap` does."""
    with app.app_context():
        try:
            return reap()
        finally:
            db.session.remove()

