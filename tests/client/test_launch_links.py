"""Launch links are read without a server: the https launcher (with a path prefix) and vscode:// forms."""
import pytest

from seecodes.client import LaunchLink, LocalRefusal, parse_launch_url
from seecodes.client.tasks import resolve_backend


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
    with pytest.raises(LocalRefusal):
        resolve_backend(link, "https://api.example.com")
    assert resolve_backend(link, "https://evil.example/") == "https://evil.example"
