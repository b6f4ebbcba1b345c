"""Fixtures of the client tests: a served app, Jira and task clients on it, the CLI in-process, dropped answers."""
import io
import json
import sys
from pathlib import Path

import pytest
import requests

# The checkout's own client (client/), not a copy some virtualenv has installed: worktrees and clones that
# share one venv each test their own code.
CLIENT_DIR = Path(__file__).resolve().parents[2] / "client"
sys.path.insert(0, str(CLIENT_DIR))

from seecodes_client import JiraClient, TaskClient  # noqa: E402
from seecodes_client.cli import main  # noqa: E402
from seecodes_client.launch import CodeLedger  # noqa: E402

from seecodes.runs import dispatch  # noqa: E402

from ..helpers import VSCODE_LINK_EXAMPLE  # noqa: E402
from ..server import serve  # noqa: E402

# Behaviour that does not depend on the database (client-side rules, CLI formatting) runs on SQLite only.
SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
LIST_MD = b"# Auth flow\n\n- [x] Protected-route wrapper is live\n- [ ] Callback validation\n\nTODO: token refresh\n"


@pytest.fixture
def base_url(app):
    """The app on a real HTTP server; launcher and storage URLs point at it."""
    with serve(app) as url:
        app.config["SEECODES_PUBLIC_BASE_URL"] = url
        yield url
        dispatch.shutdown(app)  # let in-process runs end before the server and the engine go away


class DroppingSession(requests.Session):
    """Sends every request for real, but answers ConnectionError instead of the response of the chosen ones,
    as a proxy or a client timeout would after the server already did the work."""

    def __init__(self):
        super().__init__()
        self.rules = []
        self.sent = []
        self.keys = []  # the Idempotency-Key of each request sent (None without one)

    def drop(self, method, path_part, times=1):
        self.rules.append([method.upper(), path_part, times, None])

    def gateway_error(self, method, path_part, times=1):
        """Replace the backend's answer with a proxy's HTML 502 page."""
        self.rules.append([method.upper(), path_part, times, 502])

    def send(self, request, **kwargs):
        self.sent.append((request.method, request.url))
        self.keys.append(request.headers.get("Idempotency-Key"))
        response = super().send(request, **kwargs)
        for rule in self.rules:
            method, path_part, times, status = rule
            if times and request.method == method and path_part in request.url:
                rule[2] -= 1
                if status is None:
                    raise requests.ConnectionError(f"answer to {method} {path_part} dropped by the test")
                page = requests.Response()
                page.status_code, page._content, page.url, page.request = status, b"<html>Bad Gateway</html>", \
                    request.url, request
                page.headers["Content-Type"] = "text/html"
                return page
        return response


@pytest.fixture
def dropping():
    return DroppingSession()


@pytest.fixture
def forge_token(signer, tenant):
    return lambda: signer.token(tenant["installation_id"], tenant["cloud_id"], tenant["principal"])


@pytest.fixture
def jira_client(base_url, forge_token, dropping):
    return JiraClient(base_url, forge_token, session=dropping)


@pytest.fixture
def credits(grant, tenant, jira_client):
    jira_client.instance()  # provisions the installation
    grant(tenant["installation_id"], 1000)


@pytest.fixture
def credits_left(app, tenant):
    """The tenant's credits now."""
    from seecodes.installations import service

    def read():
        with app.app_context():
            return service.get_by_installation_id(tenant["installation_id"]).credits

    return read


@pytest.fixture
def launch_link(jira_client, tenant):
    """Mint a launch link for AUTH/AUTH-128 as the Jira app does; answers the vscode-link document."""

    def mint(task_id="AUTH-128", **extra):
        return jira_client.vscode_link("AUTH", task_id, user_account_id=tenant["principal"],
                                       jira_context=VSCODE_LINK_EXAMPLE["jiraContext"],
                                       initial_tai_doc=VSCODE_LINK_EXAMPLE["initialTaiDoc"], **extra)

    return mint


@pytest.fixture
def task_client(base_url, launch_link, dropping):
    return TaskClient.open(launch_link()["httpsUrl"], base_url=base_url, ledger=CodeLedger(), session=dropping,
                           retry_delays=(0, 0), sleep=lambda _: None)


@pytest.fixture
def cli(tmp_path, request):
    """Run the CLI in-process with its own config folder: answers (exit code, stdout, stderr).

    When the test serves the app, the CLI is configured with it ($SEECODES_BASE_URL), as a user would be.
    """
    folder = tmp_path / "config"
    configured = {"SEECODES_BASE_URL": request.getfixturevalue("base_url")} if "base_url" in request.fixturenames \
        else {}

    def run(*argv, env=None, stdout=None):
        out, err = stdout or io.StringIO(), io.StringIO()
        code = main(list(argv), stdout=out, stderr=err,
                    env={"SEECODES_CONFIG_DIR": str(folder), **configured, **(env or {})})
        return code, out.getvalue() if stdout is None else None, err.getvalue()

    run.folder = folder
    return run


def cli_json(cli, *argv):
    code, out, err = cli("--json", *argv)
    return code, json.loads(out)


@pytest.fixture
def add_failing_model(app):
    """A catalog entry whose provider fails at once (an OpenAI-compatible server on a closed port)."""
    from seecodes.catalog.models import CatalogModel
    from seecodes.extensions import db

    with app.app_context():
        db.session.add(CatalogModel(id="broken", name="broken", description="test", max_context=100000,
                                    pricing_base=1.0, pricing_per_token=0.001, provider="openai",
                                    provider_config={"baseUrl": "http://127.0.0.1:9/v1", "model": "x",
                                                     "apiKeyEnv": "SEECODES_TEST_NO_KEY", "timeoutSeconds": 1,
                                                     "maxRetries": 0},
                                    enabled=True, position=9))
        db.session.commit()
    return "broken"
