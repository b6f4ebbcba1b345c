"""Launch links are read without a server: the https launcher (with a path prefix) and vscode:// forms."""
import pytest

from seecodes_client import LaunchLink, LocalRefusal, TaskClient, parse_launch_url
from seecodes_client.trust import choose_backend


def test_an_https_launcher_link_names_its_backend():
    link = parse_launch_url("https://api.example.com/seecodes/v1/launch?p=AUTH&t=AUTH-128&c=sc_launch_abc")
    assert link == LaunchLink("sc_launch_abc", "AUTH", "AUTH-128", "https://api.example.com/seecodes")


def test_a_vscode_link_carries_its_backend_only_as_a_base_url_hint():
    link = parse_launch_url("vscode://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-128?code=sc_launch_abc"
                            "&baseUrl=https%3A%2F%2Fapi.example.com%2F")
    assert link == LaunchLink("sc_launch_abc", "AUTH", "AUTH-128", "https://api.example.com")
    bare = parse_launch_url("cursor://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-128?code=sc_launch_abc")
    assert bare.base_url is None


@pytest.mark.parametrize("url", [
    "https://api.example.com/v1/other?p=AUTH&t=AUTH-1&c=sc_launch_x",
    "https://api.example.com/v1/launch?p=AUTH&t=AUTH-1",
    "vscode://ext/project/AUTH?code=sc_launch_x",
    "ftp://api.example.com/v1/launch?p=AUTH&t=AUTH-1&c=sc_launch_x",
])
def test_malformed_links_are_refused_locally(url):
    with pytest.raises(LocalRefusal) as refused:
        parse_launch_url(url)
    assert refused.value.code == "bad_launch_url"


def test_the_configured_backend_must_match_the_links():
    link = LaunchLink("c", "AUTH", "AUTH-1", "https://evil.example")
    with pytest.raises(LocalRefusal) as refused:
        choose_backend(link, "https://api.example.com")
    assert refused.value.code == "backend_mismatch"
    assert choose_backend(link, "https://evil.example/") == "https://evil.example"


def test_a_link_naming_a_backend_nobody_configured_is_refused():
    link = parse_launch_url("https://evil.example/v1/launch?p=AUTH&t=AUTH-1&c=sc_launch_x")
    with pytest.raises(LocalRefusal) as refused:
        choose_backend(link, None)
    assert refused.value.code == "untrusted_backend" and "--trust-link" in refused.value.detail


def test_a_vscode_base_url_hint_is_not_trusted_either():
    link = parse_launch_url("vscode://ext/project/AUTH/task/AUTH-1?code=sc_launch_x&baseUrl=https%3A%2F%2Fevil.example")
    with pytest.raises(LocalRefusal) as refused:
        choose_backend(link, None, ["https://api.example.com"])
    assert refused.value.code == "untrusted_backend"


def test_a_remembered_backend_is_trusted_and_serves_links_without_a_backend():
    remembered = ["https://old.example", "https://api.example.com"]
    named = parse_launch_url("https://API.example.com/v1/launch?p=AUTH&t=AUTH-1&c=sc_launch_x")
    assert choose_backend(named, None, remembered) == "https://api.example.com"
    bare = parse_launch_url("vscode://ext/project/AUTH/task/AUTH-1?code=sc_launch_x")
    assert choose_backend(bare, None, remembered) == "https://api.example.com"  # the most recent


def test_trust_link_confirms_the_links_backend():
    link = parse_launch_url("https://other.example/seecodes/v1/launch?p=AUTH&t=AUTH-1&c=sc_launch_x")
    assert choose_backend(link, "https://api.example.com", trust_link=True) == "https://other.example/seecodes"


@pytest.mark.parametrize("url", ["http://api.example.com", "http://10.0.0.5:8000", "http://[fe80::1]:80"])
def test_plain_http_is_refused_off_loopback_even_when_trusted(url):
    link = LaunchLink("c", "AUTH", "AUTH-1", url)
    with pytest.raises(LocalRefusal) as refused:
        choose_backend(link, None, trust_link=True)
    assert refused.value.code == "insecure_backend"
    with pytest.raises(LocalRefusal):
        TaskClient(url, "permit")


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000",
                                 "http://127.3.4.5"])
def test_plain_http_is_fine_on_loopback(url):
    assert choose_backend(LaunchLink("c", "AUTH", "AUTH-1", None), url) == url


def _closed_port_url():
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_code_that_never_left_the_machine_can_be_sent_again():
    from seecodes_client import CodeLedger, ConnectionFailed, RequestOutcomeUnknown

    ledger, base = CodeLedger(), _closed_port_url()
    for _ in range(2):
        with pytest.raises(ConnectionFailed) as failed:
            TaskClient.exchange(base, "sc_launch_abc", "AUTH", "AUTH-1", ledger=ledger)
        assert failed.value.sent is False and not isinstance(failed.value, RequestOutcomeUnknown)


def test_a_jira_request_that_never_left_keeps_its_key():
    from seecodes_client import ConnectionFailed, JiraClient

    client = JiraClient(_closed_port_url(), lambda: "token")
    client._key, client._key_expires_at = "sc_jira_req_current", None
    with pytest.raises(ConnectionFailed):
        client.instance_metrics(1)
    assert client._key == "sc_jira_req_current"
