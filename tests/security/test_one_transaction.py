"""One transaction per request, owned by the guard: what a Jira request teaches about its installation (a site URL,
a license) commits with the route's own work in one COMMIT and is rolled back with it."""
from datetime import timedelta

from seecodes import clock

from ..helpers import REQUEST_KEY, assert_envelope, sql_log

SITE = "https://acme.atlassian.net"


def test_a_keyed_request_that_teaches_a_site_url_commits_once(app, jira):
    jira.bootstrap()
    with sql_log(app) as seen:
        answer = jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": 17, "siteUrlHint": SITE})
    assert answer.status_code == 200, answer.get_json()
    assert seen["commits"] == 1
    me = jira.get("/v1/instances/me").get_json()
    assert (me["siteUrl"], me["installedUsersCount"]) == (SITE, 17)


def test_a_keyed_request_that_teaches_a_license_commits_once_and_answers_what_it_taught(app, client, signer, jira,
                                                                                        tenant):
    jira.bootstrap()
    before = jira.get("/v1/instances/me").get_json()["updatedAt"]
    clock.travel(timedelta(minutes=2))
    token = signer.token(tenant["installation_id"], tenant["cloud_id"], tenant["principal"], license_active=True,
                         environment="PRODUCTION")
    with sql_log(app) as seen:
        answer = client.get("/v1/instances/me", headers={"Authorization": f"Bearer {token}", REQUEST_KEY: jira.key})
    assert answer.status_code == 200, answer.get_json()
    assert seen["commits"] == 1
    document = answer.get_json()
    assert (document["licenseActive"], document["activationSource"]) == (True, "forge-license")
    assert document["updatedAt"] == clock.epoch(clock.now()) > before


def test_a_bootstrap_that_teaches_a_site_url_commits_once(app, client, jira):
    jira.bootstrap()  # provisions the installation (committed on its own: see installations.service._provision)
    with sql_log(app) as seen:
        answer = client.post("/v1/jira/request-key", json={"siteUrlHint": SITE}, headers=jira.auth())
    assert answer.status_code == 200, answer.get_json()
    assert seen["commits"] == 1
    jira.key = answer.get_json()["requestKey"]
    assert jira.get("/v1/instances/me").get_json()["siteUrl"] == SITE


def test_a_failed_route_keeps_nothing_its_token_taught_and_consumes_nothing(jira):
    jira.bootstrap()
    key = jira.key
    refused = jira.post("/v1/jira/instance-metrics", json={"installedUsersCount": -1, "siteUrlHint": SITE})
    assert_envelope(refused, 422, "validation_failed")
    jira.key = key  # not consumed
    me = jira.get("/v1/instances/me")
    assert me.status_code == 200
    assert me.get_json()["siteUrl"] is None


def test_a_refused_key_keeps_nothing_its_token_taught(client, jira):
    key = jira.bootstrap()
    assert jira.get("/v1/instances/me").status_code == 200
    replayed = client.get("/v1/instances/me", headers={**jira.auth(), REQUEST_KEY: key},
                          query_string={"siteUrlHint": SITE})
    assert_envelope(replayed, 401, "request_key_replayed")
    assert jira.get("/v1/instances/me").get_json()["siteUrl"] is None
