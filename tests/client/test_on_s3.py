"""The reference client on the production deployment (PostgreSQL, Redis + RQ worker, S3 on moto): a run from a launch
link to its output with nothing but the contract's upload target (a plain PUT to uploads[name])."""
import pytest

from .conftest import LIST_MD

pytestmark = [pytest.mark.backends("production"), pytest.mark.slow]


def test_the_sdk_runs_a_task_on_s3(task_client, credits, dropping):
    result = task_client.run("strict light", "generate change log", {"list.md": LIST_MD})
    assert result.succeeded and "generate change log" in result.output
    puts = [url for method, url in dropping.sent if method == "PUT"]
    assert len(puts) == 1 and "X-Amz-Signature" in puts[0]  # the presigned PUT of uploads["list.md"]


def test_the_cli_runs_a_task_on_s3(cli, launch_link, credits, tmp_path):
    (tmp_path / "list.md").write_bytes(LIST_MD)
    assert cli("open", launch_link()["httpsUrl"])[0] == 0
    code, out, err = cli("run", "--model", "strict light", "--prompt", "generate change log",
                         str(tmp_path / "list.md"), "--zip", str(tmp_path / "result.zip"))
    assert code == 0, err
    assert "generate change log" in out and (tmp_path / "result.zip").stat().st_size > 0
