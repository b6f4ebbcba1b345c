"""POST /v1/jira/telemetry/events: deprecated, always 410 with the contract's detail, stores nothing."""
import pytest

from ..helpers import REQUEST_KEY, assert_envelope
from ..contract_examples import TELEMETRY_DETAIL, TELEMETRY_EXAMPLE

URL = "/v1/jira/telemetry/events"


@pytest.mark.parametrize("kwargs", [{"json": TELEMETRY_EXAMPLE}, {}, {"data": "not json"}, {"json": [1, 2]}])
def test_answers_410_with_the_contracts_detail_whatever_the_body(client, kwargs):
    response = client.post(URL, **kwargs)
    assert response.status_code == 410
    body = response.get_json()
    assert body.pop("requestId") == response.headers["X-Request-ID"]  # every error carries its request id
    assert body == {"ok": False, "error": "telemetry_disabled", "detail": TELEMETRY_DETAIL}


def test_credentials_change_nothing_and_the_request_key_is_not_consumed(client, jira):
    key = jira.bootstrap()
    response = client.post(URL, json=TELEMETRY_EXAMPLE, headers={**jira.auth(), REQUEST_KEY: key})
    assert assert_envelope(response, 410, "telemetry_disabled")["detail"] == TELEMETRY_DETAIL
    assert jira.get("/v1/instances/me").status_code == 200  # still the chain's current key


def test_route_is_documented_as_deprecated(client):
    operation = client.get("/openapi.json").get_json()["paths"][URL]["post"]
    assert operation["deprecated"] is True and "410" in operation["responses"]
