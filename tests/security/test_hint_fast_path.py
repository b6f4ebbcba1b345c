"""A hint that teaches the backend something new on the fast request-key path is recorded, not a 500."""
from ..helpers import assert_envelope


def test_a_first_site_url_hint_on_a_keyed_jira_route_is_recorded(jira):
    jira.bootstrap()
    answer = jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": 17, "source": "forge-hourly-sync",
                                                          "siteUrlHint": "https://acme.atlassian.net"})
    assert answer.status_code == 200, answer.get_json()
    again = jira.get("/v1/instances/me")
    assert again.status_code == 200
    assert again.get_json()["siteUrl"] == "https://acme.atlassian.net"


def test_a_contradicting_site_url_hint_on_a_keyed_jira_route_is_refused(jira):
    jira.bootstrap()
    body = {"installedUsersCount": 17, "source": "forge-hourly-sync"}
    assert jira.post("/v1/jira/instance-metrics", json={**body, "siteUrlHint": "https://acme.atlassian.net"}).status_code == 200
    answer = jira.post("/v1/jira/instance-metrics", json={**body, "siteUrlHint": "https://other.atlassian.net"})
    assert_envelope(answer, 403, "tenant_mismatch")
