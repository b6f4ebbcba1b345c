"""Every Jira-side analytics route refuses a tenant hint naming another installation (403)."""
import pytest

from ..conftest import new_installation_id
from ..helpers import assert_envelope


@pytest.mark.parametrize("method, path, body", [
    ("GET", "/v1/jira/usage", None),
    ("GET", "/v1/jira/team-competition", None),
    ("POST", "/v1/jira/instance-metrics", {"installedUsersCount": 3}),
    ("GET", "/v1/tasks/AUTH-128/progress?projectId=AUTH", None),
])
def test_hint_naming_another_installation_is_forbidden(jira, method, path, body):
    separator = "&" if "?" in path else "?"
    response = jira.call(method, f"{path}{separator}cloudIdHint={new_installation_id()}", json=body)
    assert_envelope(response, 403, "tenant_mismatch")
