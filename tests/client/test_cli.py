"""The seecodes CLI against a served app: the README's three commands, every command, --json and exit codes."""
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from seecodes_client.cli import EXIT_CLIENT_ERROR, EXIT_OK, EXIT_REFUSED, EXIT_SERVER_FAILURE

from .conftest import CLIENT_DIR, LIST_MD, SQLITE_ONLY, cli_json

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("backend", ["sqlite"])
def test_the_readme_flow_from_a_launch_link_to_a_runs_output_in_three_commands(backend, base_url, launch_link,
                                                                              credits, tmp_path):
    """`seecodes open`, `seecodes run`, `seecodes output`, as README.md writes them (here `python -m seecodes_client`
    from the checkout; tests/client/test_isolation.py runs the installed console script)."""
    env = {**os.environ, "PYTHONPATH": str(CLIENT_DIR), "XDG_CONFIG_HOME": str(tmp_path / "xdg"),
           "SEECODES_BASE_URL": base_url}
    env.pop("SEECODES_CONFIG_DIR", None)

    def seecodes(*argv):
        return subprocess.run([sys.executable, "-m", "seecodes_client", *argv], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)

    subprocess.run(["sh", "-c", readme_file_line()], cwd=tmp_path, check=True)
    opened = seecodes("open", launch_link()["httpsUrl"])
    assert opened.returncode == 0, opened.stderr
    assert "# Implement auth flow" in opened.stdout
    ran = seecodes("run", "--model", "strict light", "--prompt", "generate change log", "list.md")
    assert ran.returncode == 0, ran.stderr
    assert "generate change log" in ran.stdout
    run_id = next(line.split()[1] for line in ran.stderr.splitlines() if line.startswith("run run_"))
    output = seecodes("output", run_id)
    assert (output.returncode, output.stdout) == (0, ran.stdout)
    session = tmp_path / "xdg" / "seecodes" / "session.json"
    assert session.stat().st_mode & 0o777 == 0o600


def readme_file_line() -> str:
    """The README's line that creates the file its example runs on (its comment cut off)."""
    block = (ROOT / "README.md").read_text().split("## From a launch link")[1]
    line = next(line for line in block.splitlines() if line.startswith("printf ") and "> list.md" in line)
    return line.split("  #")[0]


def test_open_stores_the_permit_privately_and_prints_the_context(cli, launch_link, base_url):
    code, out, err = cli("open", launch_link()["httpsUrl"])
    assert code == EXIT_OK, err
    assert out.startswith("# Implement auth flow")
    session = cli.folder / "session.json"
    assert session.stat().st_mode & 0o777 == 0o600
    assert cli.folder.stat().st_mode & 0o777 == 0o700
    stored = json.loads(session.read_text())
    assert (stored["baseUrl"], stored["projectId"], stored["taskId"]) == (base_url, "AUTH", "AUTH-128")


@SQLITE_ONLY
def test_opening_the_same_link_twice_is_a_client_error_and_keeps_the_permit(cli, launch_link):
    link = launch_link()["httpsUrl"]
    assert cli("open", link)[0] == EXIT_OK
    code, out = cli_json(cli, "open", link)
    assert (code, out["error"]) == (EXIT_CLIENT_ERROR, "launch_code_already_used")
    assert cli("context")[0] == EXIT_OK


@SQLITE_ONLY
def test_context_in_json(cli, launch_link):
    cli("open", launch_link()["httpsUrl"])
    code, out = cli_json(cli, "context")
    assert code == EXIT_OK and out["context"]["context"]["title"] == "Implement auth flow"


def test_run_status_logs_and_output_in_json(cli, launch_link, credits, tmp_path):
    cli("open", launch_link()["httpsUrl"])
    (tmp_path / "list.md").write_bytes(LIST_MD)
    code, run = cli_json(cli, "run", "--model", "strict light", "--prompt", "generate change log",
                         str(tmp_path / "list.md"), "--zip", str(tmp_path / "result.zip"))
    assert code == EXIT_OK and run["status"]["status"] == "succeeded"
    assert (tmp_path / "result.zip").stat().st_size > 0
    run_id = run["runId"]
    assert cli_json(cli, "status", run_id)[1]["status"]["status"] == "succeeded"
    assert cli_json(cli, "output", run_id)[1]["output"] == run["output"]
    assert "succeeded" in cli_json(cli, "logs", run_id)[1]["logs"]


@SQLITE_ONLY
def test_follow_waits_for_a_run_started_without_waiting(cli, launch_link, credits, tmp_path):
    cli("open", launch_link()["httpsUrl"])
    (tmp_path / "list.md").write_bytes(LIST_MD)
    code, run_id, _ = cli("run", "--no-wait", "--model", "strict light", "--prompt", "p", str(tmp_path / "list.md"))
    assert code == EXIT_OK
    run_id = run_id.strip()
    code, logs, _ = cli("logs", run_id, "--follow")
    assert code == EXIT_OK and "succeeded" in logs
    code, out, _ = cli("output", run_id, "--follow")
    assert code == EXIT_OK and "# " in out
    code, status, _ = cli("status", run_id, "--follow")
    assert code == EXIT_OK and status.startswith(f"{run_id}: succeeded")


def test_progress_push_then_show(cli, launch_link):
    cli("open", launch_link()["httpsUrl"])
    code, _, err = cli("progress", "push", "--ready", "Wrapper is live", "--left", "Callback", "--risk", "IdP",
                       "--progress", "67%", "--confidence", "Medium")
    assert code == EXIT_OK, err
    code, out, _ = cli("progress", "show")
    assert code == EXIT_OK and "progress 67%, confidence Medium" in out and "  - Wrapper is live" in out
    assert cli_json(cli, "progress", "show")[1]["progress"]["risks"] == ["IdP"]


def test_index_sync_reuses_what_the_index_has_and_deletes_what_is_gone(cli, launch_link, tmp_path):
    cli("open", launch_link()["httpsUrl"])
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    (root / "src/auth.ts").write_text("export class AuthGuard {}\n")
    (root / "src/old.ts").write_text("// old\n")
    code, first = cli_json(cli, "index", "sync", str(root))
    assert code == EXIT_OK and (first["uploaded"], first["totalFiles"]) == (2, 2)
    (root / "src/old.ts").unlink()
    code, out, _ = cli("index", "sync", str(root))
    assert code == EXIT_OK
    assert out.strip() == "1 files: 1 unchanged, 0 reused from the index, 0 uploaded, 1 deleted; index holds 1 files"


@SQLITE_ONLY
def test_models_lists_the_catalog(cli, base_url):
    code, out = cli_json(cli, "--base-url", base_url, "models")
    assert code == EXIT_OK and out["models"][0]["id"] == "strict light"


@SQLITE_ONLY
def test_models_prints_pricing_as_a_person_reads_it(cli, base_url):
    code, out, _ = cli("models")
    line = next(line for line in out.splitlines() if line.startswith("strict light"))
    assert code == EXIT_OK and "{" not in line
    assert re.search(r"[\d.]+ credits per run \+ [\d.]+ credits per 1,000 input tokens; context [\d,]+ tokens", line), line


@SQLITE_ONLY
def test_progress_push_says_it_replaces_the_document_and_merge_keeps_the_rest(cli, launch_link):
    cli("open", launch_link()["httpsUrl"])
    cli("progress", "push", "--ready", "Wrapper is live", "--left", "Callback", "--progress", "67%")
    code, _, err = cli("progress", "push", "--risk", "IdP")
    assert code == EXIT_OK and "replaced as a whole" in err and "--merge" in err
    assert cli_json(cli, "progress", "show")[1]["progress"]["ready"] == []
    cli("progress", "push", "--ready", "Wrapper is live", "--progress", "67%")
    code, _, err = cli("progress", "push", "--merge", "--left", "Callback")
    stored = cli_json(cli, "progress", "show")[1]["progress"]
    assert code == EXIT_OK and "kept" in err
    assert (stored["ready"], stored["left"], stored["progress"]) == (["Wrapper is live"], ["Callback"], "67%")


def test_no_open_task_is_a_client_error(cli):
    code, out = cli_json(cli, "context")
    assert (code, out["error"]) == (EXIT_CLIENT_ERROR, "no_session")


@SQLITE_ONLY
def test_a_server_refusal_exits_3_with_the_envelope(cli, launch_link, tmp_path):
    cli("open", launch_link()["httpsUrl"])
    (tmp_path / "list.md").write_bytes(LIST_MD)
    code, out = cli_json(cli, "run", "--model", "no such model", "--prompt", "p", str(tmp_path / "list.md"))
    assert code == EXIT_REFUSED
    assert (out["status"], out["error"]) == (422, "validation_failed")


@SQLITE_ONLY
def test_too_few_credits_is_a_refusal(cli, launch_link, tmp_path):
    cli("open", launch_link()["httpsUrl"])
    (tmp_path / "list.md").write_bytes(LIST_MD)
    code, out = cli_json(cli, "run", "--model", "strict light", "--prompt", "p", str(tmp_path / "list.md"))
    assert (code, out["status"], out["error"]) == (EXIT_REFUSED, 402, "insufficient_credits")


def test_an_unreachable_server_is_a_server_failure(cli):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, out = cli_json(cli, "--base-url", f"http://127.0.0.1:{port}", "models")
    assert (code, out["error"]) == (EXIT_SERVER_FAILURE, "connection_failed")


@SQLITE_ONLY
def test_a_failed_run_exits_4(cli, launch_link, credits, add_failing_model, tmp_path):
    cli("open", launch_link()["httpsUrl"])
    (tmp_path / "list.md").write_bytes(LIST_MD)
    code, out = cli_json(cli, "run", "--model", add_failing_model, "--prompt", "p", str(tmp_path / "list.md"))
    assert (code, out["error"]) == (EXIT_SERVER_FAILURE, "run_failed") and out["runId"].startswith("run_")


def test_bad_usage_is_a_client_error(cli):
    code, out, err = cli("run")
    assert code == EXIT_CLIENT_ERROR and out == ""
    assert "usage: seecodes" in err and "required: --model" in err


@pytest.mark.parametrize("argv", [["run"], ["no-such-command"], ["status"], ["--http-timeout", "x", "models"],
                                  ["run", "--model", "m", "--prompt", "p", "--prompt-file", "f", "list.md"]])
def test_json_answers_one_document_even_for_usage_errors(cli, argv):
    code, out, err = cli("--json", *argv)
    document = json.loads(out)  # exactly one document: json.loads refuses anything after it
    assert code == EXIT_CLIENT_ERROR and (document["ok"], document["error"]) == (False, "usage")
    assert document["detail"] and err == ""
