"""POST /v1/jira/instance-metrics: validated time series; the latest count in /v1/instances/me."""
import pytest

from seecodes.extensions import db
from seecodes.metrics.models import InstanceMetric

from ..helpers import assert_envelope
from ..contract_examples import INSTANCE_METRICS_EXAMPLE

URL = "/v1/jira/instance-metrics"


def test_contract_example_is_recorded_and_shown_in_instances_me(jira):
    assert jira.post(URL, json=INSTANCE_METRICS_EXAMPLE).get_json() == {"ok": True}
    assert jira.get("/v1/instances/me").get_json()["installedUsersCount"] == 17


def test_instances_me_shows_null_before_any_report(jira):
    assert jira.get("/v1/instances/me").get_json()["installedUsersCount"] is None


def test_reports_are_kept_as_a_series_and_the_latest_wins(jira, app):
    jira.post(URL, json=INSTANCE_METRICS_EXAMPLE)
    jira.post(URL, json={"installedUsersCount": 20})
    assert jira.get("/v1/instances/me").get_json()["installedUsersCount"] == 20
    with app.app_context():
        rows = db.session.execute(db.select(InstanceMetric.installed_users_count, InstanceMetric.source)
                                  .order_by(InstanceMetric.id)).all()
    assert [tuple(row) for row in rows] == [(17, "forge-hourly-sync"), (20, None)]


def test_other_installation_does_not_see_the_count(jira, other_jira):
    jira.post(URL, json=INSTANCE_METRICS_EXAMPLE)
    assert other_jira.get("/v1/instances/me").get_json()["installedUsersCount"] is None


@pytest.mark.parametrize("body", [{}, {"installedUsersCount": -1}, {"installedUsersCount": "17"},
                                  {"installedUsersCount": 10_000_001}, {"installedUsersCount": 1.5},
                                  {"installedUsersCount": 3, "source": "x" * 65},
                                  {"installedUsersCount": 3, "source": "bad source"}])
def test_invalid_metrics_are_refused(jira, body):
    assert_envelope(jira.post(URL, json=body), 422, "validation_failed")


def test_metrics_require_request_key(client, jira):
    assert_envelope(client.post(URL, json=INSTANCE_METRICS_EXAMPLE, headers=jira.auth()), 401, "request_key_missing")
