"""The Jira -> editor handshake end to end, on both backends."""
from .helpers import bearer


def test_health_answers_ok(client):
    assert client.get("/healthz").get_json() == {"ok": True}


def test_handshake_request_key_link_exchange_context(jira, client):
    permit = jira.launch()
    response = client.get("/v1/tasks/context", headers=bearer(permit))
    assert response.status_code == 200
    assert response.get_json()["context"]["title"] == "Implement auth flow"
