"""The served app under gunicorn (and an RQ worker): JSON log lines with the request id, metrics added up across
processes, and not one credential in any log line."""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.common import free_port
from seecodes.catalog import service as catalog
from seecodes.extensions import db
from seecodes.installations import service as installations

from ..conftest import APP_ID, make_app
from ..helpers import NEXT_KEY, REQUEST_KEY, VSCODE_LINK_EXAMPLE
from ..runs.conftest import LIST_MD

ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY = "served-logs-secret-key-0123456789-abcdefghijklmnop"
METRICS_TOKEN = "served-metrics-token-0123456789"
# What a credential that escaped redaction would look like.
LEAKS = [re.compile(r"sc_launch_(?!\[redacted\])"), re.compile(r"sc_jira_req_(?!\[redacted\])"),
         re.compile(r"sig=(?!\[redacted\])[^\s&\"]"), re.compile(r"(?i)bearer (?!\[redacted\])\S")]


class Gunicorn:
    def __init__(self, tmp_path, forge_keys, sqlite_template):
        self.instance = tmp_path / "instance"
        self.instance.mkdir()
        shutil.copy(sqlite_template, self.instance / "seecodes.db")
        self.url_db = f"sqlite:///{self.instance / 'seecodes.db'}"
        self.app = make_app(self.instance, forge_keys, self.url_db, SECRET_KEY=SECRET_KEY)
        with self.app.app_context():
            catalog.seed()
            db.session.remove()
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SEECODES_STORAGE")}
        env.update({"SEECODES_INSTANCE_PATH": str(self.instance), "PORT": str(self.port),
                    "FORGE_JWKS_URL": forge_keys["jwks"], "FORGE_APP_ID": APP_ID, "SEECODES_SECRET_KEY": SECRET_KEY,
                    "SEECODES_LOG_FORMAT": "json", "SEECODES_LOG_LEVEL": "INFO", "WEB_CONCURRENCY": "2",
                    "SEECODES_METRICS_TOKEN": METRICS_TOKEN, "SEECODES_PUBLIC_BASE_URL": self.base,
                    "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"), "PYTHONPATH": str(ROOT)})
        self.log_path = tmp_path / "gunicorn.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
                                        cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{self.base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline and self.process.poll() is None, self.output()
            time.sleep(0.1)

    def grant(self, installation_id, credits):
        with self.app.app_context():
            installations.grant_credits(installations.get_by_installation_id(installation_id).id, credits)
            db.session.commit()
            db.session.remove()

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()
        with self.app.app_context():
            db.engine.dispose()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def gunicorn(tmp_path, forge_keys, sqlite_template):
    server = Gunicorn(tmp_path, forge_keys, sqlite_template)
    yield server
    server.stop()


class Handshake:
    """The Jira app and the IDE over real HTTP; remembers every credential it saw."""

    def __init__(self, base, signer, tenant):
        self.base, self.signer, self.tenant = base, signer, tenant
        self.secrets, self.key = [], None

    def auth(self):
        token = self.signer.token(self.tenant["installation_id"], self.tenant["cloud_id"], self.tenant["principal"])
        self.secrets.append(token)
        return {"Authorization": f"Bearer {token}"}

    def jira(self, method, path, **kwargs):
        response = requests.request(method, self.base + path, timeout=10,
                                    headers={**self.auth(), REQUEST_KEY: self.key}, **kwargs)
        if response.ok:
            self.key = response.headers[NEXT_KEY]
            self.secrets.append(self.key)
        return response

    def bootstrap(self):
        response = requests.post(f"{self.base}/v1/jira/request-key", json={}, headers=self.auth(), timeout=10)
        self.key = response.json()["requestKey"]
        self.secrets.append(self.key)


def _secrets_in(url: str) -> list[str]:
    return [value for value in re.findall(r"[?&](?:sig|c|X-Amz-Signature|X-Amz-Credential)=([^&]+)", url)]


def _json_lines(text: str) -> list[dict]:
    """The complete JSON lines of a log being written (a line still half-written is skipped)."""
    lines = []
    for line in text.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict):
            lines.append(document)
    return lines


def test_gunicorn_logs_are_json_with_request_ids_and_no_credentials(gunicorn, signer, tenant):
    ide = Handshake(gunicorn.base, signer, tenant)
    ide.bootstrap()
    stale = ide.key
    assert ide.jira("GET", "/v1/instances/me").status_code == 200
    replay = requests.get(f"{gunicorn.base}/v1/instances/me", headers={**ide.auth(), REQUEST_KEY: stale}, timeout=10)
    assert replay.status_code == 401 and replay.json()["requestId"] == replay.headers["X-Request-ID"]

    link = ide.jira("POST", "/v1/security/vscode-link", json={**VSCODE_LINK_EXAMPLE,
                                                             "userAccountId": tenant["principal"]}).json()
    code = link["launchCode"]
    ide.secrets += [code, *_secrets_in(link["httpsUrl"])]
    assert requests.get(link["httpsUrl"], timeout=10).status_code == 200  # the launcher page: ?c=<code> in the URL
    exchange = requests.post(f"{gunicorn.base}/v1/security/launch-exchange", timeout=10,
                             json={"code": code, "projectId": "AUTH", "taskId": "AUTH-128"}).json()
    permit = exchange["permit"]
    ide.secrets.append(permit)
    replayed = requests.post(f"{gunicorn.base}/v1/security/launch-exchange", timeout=10,
                             json={"code": code, "projectId": "AUTH", "taskId": "AUTH-128"})
    assert replayed.status_code == 401
    permit = ide.jira("POST", "/v1/security/task-permit", json={"projectId": "AUTH", "taskId": "AUTH-128",
                                                                "userAccountId": tenant["principal"]}).json()["permit"]
    ide.secrets.append(permit)
    auth = {"Authorization": f"Bearer {permit}"}

    gunicorn.grant(tenant["installation_id"], 100)
    init = requests.post(f"{gunicorn.base}/v1/tasks/init", json={"model": "strict light", "files": ["list.md"]},
                         headers=auth, timeout=10).json()
    upload = init["uploads"]["list.md"]
    ide.secrets += _secrets_in(upload)
    assert requests.put(upload, data=LIST_MD, timeout=10).status_code == 200
    started = requests.post(f"{gunicorn.base}/v1/tasks/{init['runId']}/start", headers=auth, timeout=10,
                            json={"model": "strict light", "userPrompt": "generate change log"})
    assert started.status_code == 200, started.text
    request_id = started.headers["X-Request-ID"]
    deadline = time.monotonic() + 30
    while (status := requests.get(f"{gunicorn.base}/v1/tasks/{init['runId']}", headers=auth,
                                  timeout=10).json()["status"])["status"] not in ("succeeded", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert status["status"] == "succeeded"
    ide.secrets += _secrets_in(status["resultZipUrl"])
    assert requests.get(status["resultZipUrl"], timeout=10).status_code == 200

    # Both gunicorn workers' counters, added up by GET /metrics in multiprocess mode.
    metrics = requests.get(f"{gunicorn.base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                           timeout=10)
    assert metrics.status_code == 200
    names = {sample.name for family in text_string_to_metric_families(metrics.text) for sample in family.samples}
    assert {"seecodes_http_requests_total", "seecodes_credential_refusals_total", "seecodes_run_transitions_total",
            "seecodes_credits_debited_total", "seecodes_run_job_duration_seconds_count", "seecodes_runs"} <= names
    # gunicorn writes a request's access line after its answer: wait for the last request's before stopping.
    deadline = time.monotonic() + 15
    while not any(line.get("logger") == "gunicorn.access" and line.get("path") == "/metrics"
                  for line in _json_lines(gunicorn.output())):
        assert time.monotonic() < deadline, gunicorn.output()
        time.sleep(0.05)
    gunicorn.stop()

    text = gunicorn.output()
    lines = [json.loads(line) for line in text.splitlines() if line.strip()]  # every line is one JSON object
    for secret in ide.secrets + [SECRET_KEY, METRICS_TOKEN]:
        assert secret not in text
    for leak in LEAKS:
        assert not leak.search(text), leak.pattern
    access = [line for line in lines if line.get("logger") == "gunicorn.access"]
    assert any(line["path"] == "/v1/launch" and "c=[redacted]" in line["query"] for line in access)
    assert any(line["path"].startswith("/storage/") and "sig=[redacted]" in line["query"] for line in access)
    start_line = next(line for line in access if line["path"].endswith("/start"))
    assert start_line["request_id"] == request_id and start_line["status"] == 200
    job_lines = [line for line in lines if line.get("logger") == "seecodes.runs.jobs"]
    assert any(init["runId"] in line["message"] and line["request_id"] == request_id for line in job_lines)
    security = [line for line in lines if line.get("logger") == "seecodes.security"]
    assert security and all(line["request_id"] not in ("-", None) for line in security)


class TestRQWorker:
    """Production: PostgreSQL, Redis, S3 (moto) and `python -m seecodes.runs.worker` in a subprocess."""

    @pytest.fixture
    def backend(self):
        return "postgresql"

    @pytest.fixture
    def app_overrides(self, moto_url, redis_db):
        from ..runs.conftest import production_overrides

        return production_overrides(moto_url, SEECODES_RUN_QUEUE="ops-logs")

    @pytest.fixture
    def worker(self, app, tmp_path, moto_url, redis_db):
        from ..runs.conftest import WorkerProcess

        process = WorkerProcess(tmp_path, moto_url, SEECODES_LOG_FORMAT="json", SEECODES_LOG_LEVEL="INFO",
                                SEECODES_RUN_QUEUE="ops-logs", PROMETHEUS_MULTIPROC_DIR=str(tmp_path / "prom"))
        yield process
        process.stop()

    def test_worker_lines_are_json_and_carry_the_request_id_of_the_start(self, runs, funded, worker, permit):
        init = runs.init().get_json()
        assert runs.send(init, "list.md", LIST_MD).status_code in (200, 204)
        started = runs.start(init["runId"])
        assert started.status_code == 200
        status = runs.wait(init["runId"])
        assert status["status"] == "succeeded", worker.output()
        worker.stop()

        text = worker.output()
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        request_id = started.headers["X-Request-ID"]
        assert any(init["runId"] in line["message"] and line["request_id"] == request_id for line in lines
                   if line["logger"] == "seecodes.runs.jobs")
        form = init["uploadForms"]["list.md"]["fields"]
        upload_secrets = [value for name, value in form.items() if name.lower() in ("policy", "x-amz-signature")]
        for secret in [permit, *upload_secrets, *_secrets_in(status["resultZipUrl"]),
                       "test-secret-key-of-the-worker-process"]:
            assert secret not in text
        # one set of metric files for the worker and one for all its work horses, not one per job
        owners = {path.name.rsplit("_", 1)[-1] for path in (worker.log_path.parent / "prom").glob("*.db")}
        horses = {name for name in owners if name.endswith("horse.db")}
        assert len(horses) == 1, owners
        rq_worker = horses.pop()[:-len("horse.db")]  # the supervisor's child
        assert owners <= {f"{worker.process.pid}.db", f"{rq_worker}.db", f"{rq_worker}horse.db"}
