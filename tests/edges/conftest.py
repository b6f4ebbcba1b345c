"""Fixtures of the hostile-input tests: a stored progress document (permit and auth are root fixtures)."""
import pytest

PROGRESS = {"ready": ["Protected-route wrapper is live"], "left": [], "progress": "67%", "confidence": "Medium",
            "risks": [], "logs": []}


@pytest.fixture
def saved_progress(client, auth):
    """A stored progress document that a refused write must leave untouched."""
    response = client.post("/v1/tasks/AUTH-128/progress", json=PROGRESS, headers=auth)
    assert response.status_code == 200, response.get_json()
    return PROGRESS


def stored_progress(client, auth):
    response = client.get("/v1/tasks/AUTH-128/progress?projectId=AUTH", headers=auth)
    assert response.status_code == 200, response.get_json()
    document = response.get_json()["progress"]
    return {k: v for k, v in document.items() if k != "updatedAt"} if document else None
