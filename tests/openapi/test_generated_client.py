"""A Python client generated from the served /openapi.json by openapi-python-client drives the whole handshake."""
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from ..helpers import NEXT_KEY

pytestmark = pytest.mark.slow
PACKAGE = "seecodes_generated_client"
GENERATOR = Path(sys.executable).with_name("openapi-python-client")


def _generate(document: bytes, folder: Path):
    """Runs the generator as a client author would; any warning it prints fails the test."""
    spec = folder / "openapi.json"
    spec.write_bytes(document)
    output = folder / PACKAGE
    env = {**os.environ, "PATH": f"{GENERATOR.parent}{os.pathsep}{os.environ.get('PATH', '')}"}  # its ruff hooks
    done = subprocess.run([str(GENERATOR), "generate", "--path", str(spec), "--output-path", str(output),
                           "--meta", "none"], capture_output=True, text=True, env=env, cwd=folder, timeout=240)
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "warning" not in report.lower() and "error" not in report.lower(), report
    sys.path.insert(0, str(folder))
    try:
        return {name: importlib.import_module(f"{PACKAGE}.{name}") for name in ("client", "models")}, folder
    finally:
        sys.path.remove(str(folder))


def _operation(name: str):
    for tag in ("security", "instances", "tasks", "telemetry", "models", "system"):
        try:
            return importlib.import_module(f"{PACKAGE}.api.{tag}.{name}")
        except ModuleNotFoundError:
            continue
    raise AssertionError(f"no generated module for operation {name}")


@pytest.fixture
def generated(client, tmp_path):
    document = client.get("/openapi.json").get_data()
    modules, folder = _generate(document, tmp_path)
    sys.path.insert(0, str(folder))
    yield modules
    sys.path.remove(str(folder))
    for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
        del sys.modules[name]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_generated_python_client_drives_the_handshake_and_a_run(app, generated, signer, tenant, grant):
    client_module, models = generated["client"], generated["models"]
    transport = httpx.WSGITransport(app=app)
    base = "http://testserver"

    def forge():
        token = signer.token(tenant["installation_id"], tenant["cloud_id"], tenant["principal"])
        return client_module.AuthenticatedClient(base_url=base, token=token, httpx_args={"transport": transport})

    # Jira side: bootstrap, then each answer's typed header carries the next key.
    issued = _operation("issue_request_key").sync_detailed(client=forge(), body=models.RequestKeyBody())
    assert issued.status_code == 200
    key = issued.parsed.request_key
    instance = _operation("get_instance").sync_detailed(client=forge(), x_see_codes_jira_request_key=key)
    assert instance.status_code == 200 and instance.parsed.installation_id == tenant["installation_id"]
    key = instance.headers[NEXT_KEY]
    grant(tenant["installation_id"], 1000)
    link = _operation("create_vscode_link").sync_detailed(
        client=forge(), x_see_codes_jira_request_key=key,
        body=models.VscodeLinkBody(project_id="AUTH", task_id="AUTH-128", user_account_id=tenant["principal"],
                                   jira_context=models.VscodeLinkBodyJiraContextType0.from_dict(
                                       {"title": "Implement auth flow"})))
    assert link.status_code == 200, link.content
    assert link.headers[NEXT_KEY] != key

    # Editor side: exchange the code, then everything with the permit.
    public = client_module.Client(base_url=base, httpx_args={"transport": transport})
    exchanged = _operation("exchange_launch_code").sync_detailed(client=public, body=models.LaunchExchangeBody(
        code=link.parsed.launch_code, project_id="AUTH", task_id="AUTH-128"))
    assert exchanged.status_code == 200, exchanged.content
    ide = client_module.AuthenticatedClient(base_url=base, token=exchanged.parsed.permit,
                                            httpx_args={"transport": transport})
    assert _operation("get_task_context").sync_detailed(client=ide).status_code == 200
    init = _operation("init_run").sync_detailed(client=ide, body=models.InitBody(model="strict light",
                                                                                 files=["list.md"]))
    assert init.status_code == 200, init.content
    run_id = init.parsed.run_id
    upload = httpx.Client(transport=transport).put(init.parsed.uploads["list.md"], content=b"# Tasks\n- ship it\n")
    assert upload.status_code < 300
    started = _operation("start_run").sync_detailed(run_id, client=ide, body=models.StartBody(
        user_prompt="generate change log"))
    assert started.status_code == 200, started.content
    status = None
    for _ in range(200):
        status = _operation("get_run").sync_detailed(run_id, client=ide).parsed.status.status
        if status in ("succeeded", "failed"):
            break
        time.sleep(0.05)
    assert status == "succeeded"
    output = _operation("get_run_output").sync_detailed(run_id, client=ide)
    assert output.status_code == 200 and isinstance(output.parsed, str) and output.parsed
