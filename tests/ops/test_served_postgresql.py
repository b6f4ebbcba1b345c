"""The PostgreSQL fast paths as deployed: gunicorn (two workers) on PostgreSQL, Redis and S3 (moto), driven over
HTTP. The Jira guard's one-statement consume (request_keys.consume) and the permit routes'
read-only path (`task_permit(reads=...)`) run only on PostgreSQL and only in a served process's own pool; the
in-process test client reaches them too, but not through gunicorn's forked workers and their connections."""
from datetime import timedelta

import pytest
import requests
from sqlalchemy import update

from seecodes import clock
from seecodes.extensions import db
from seecodes.permits.models import Permit
from seecodes.request_keys.models import RequestKey

from ..conftest import APP_ID, REDIS_URL
from ..helpers import NEXT_KEY, REQUEST_KEY, set_installation_status
from ..production import production_overrides
from ..runs.faults import Gunicorn, production_env

pytestmark = pytest.mark.slow


@pytest.fixture
def backend():
    return "postgresql"


@pytest.fixture
def app_overrides(moto_url, redis_db):
    return production_overrides(moto_url)


@pytest.fixture
def served(app, tmp_path, moto_url, forge_keys):
    server = Gunicorn(tmp_path, production_env(tmp_path, moto_url, REDIS_URL, WEB_CONCURRENCY=2,
                                               FORGE_JWKS_URL=forge_keys["jwks"], FORGE_APP_ID=APP_ID))
    yield server
    server.stop()


class JiraOverHttp:
    """The Jira app of one tenant against the served API, rotating its request key as it goes."""

    def __init__(self, base, signer, tenant, principal=None):
        self.base, self.signer, self.tenant = base, signer, tenant
        self.principal = principal or tenant["principal"]
        self.key = None

    def headers(self, key=None):
        token = self.signer.token(self.tenant["installation_id"], self.tenant["cloud_id"], self.principal)
        return {"Authorization": f"Bearer {token}", REQUEST_KEY: key if key is not None else self.key}

    def bootstrap(self):
        token = self.signer.token(self.tenant["installation_id"], self.tenant["cloud_id"], self.principal)
        response = requests.post(f"{self.base}/v1/jira/request-key", json={}, timeout=10,
                                 headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        self.key = response.json()["requestKey"]
        return self.key

    def call(self, method, path, key=None, **kwargs):
        response = requests.request(method, self.base + path, headers=self.headers(key), timeout=10, **kwargs)
        if response.ok and key is None:
            self.key = response.headers[NEXT_KEY]
        return response


def refused(response, status, code):
    body = response.json()
    return (response.status_code, body.get("ok"), body.get("error")) == (status, False, code)


def test_a_jira_call_chain_rotates_and_refuses_through_gunicorn_on_postgresql(app, served, signer, tenant):
    jira = JiraOverHttp(served.url, signer, tenant)
    first = jira.bootstrap()
    seen = [first]
    for _ in range(4):  # two gunicorn workers: the chain crosses processes
        response = jira.call("GET", "/v1/instances/me")
        assert response.status_code == 200, response.text
        assert jira.key not in seen
        seen.append(jira.key)
    assert refused(jira.call("GET", "/v1/instances/me", key=first), 401, "request_key_replayed")
    assert refused(jira.call("GET", "/v1/instances/me", key=seen[-2]), 401, "request_key_replayed")
    assert jira.call("GET", "/v1/instances/me").status_code == 200  # the refusals consumed nothing

    bob = JiraOverHttp(served.url, signer, tenant, principal="557058:bob")
    assert refused(bob.call("GET", "/v1/instances/me", key=jira.key), 401, "request_key_unknown")
    assert jira.call("GET", "/v1/instances/me").status_code == 200  # not consumed by bob's attempt

    with app.app_context():  # the live key outlived its TTL
        db.session.execute(update(RequestKey).where(RequestKey.consumed_at.is_(None))
                           .values(expires_at=clock.now() - timedelta(seconds=1)))
        db.session.commit()
    assert refused(jira.call("GET", "/v1/instances/me", key=jira.key), 401, "request_key_expired")

    jira.bootstrap()
    set_installation_status(app, tenant["installation_id"], "suspended")
    assert refused(jira.call("GET", "/v1/instances/me", key=jira.key), 403, "installation_inactive")
    set_installation_status(app, tenant["installation_id"], "active")
    assert jira.call("GET", "/v1/instances/me").status_code == 200  # the suspended call consumed nothing


def test_permit_reads_answer_and_refuse_through_gunicorn_on_postgresql(app, served, signer, tenant):
    jira = JiraOverHttp(served.url, signer, tenant)
    jira.bootstrap()

    def permit_for(task_id):
        response = jira.call("POST", "/v1/security/task-permit",
                             json={"projectId": "AUTH", "taskId": task_id, "userAccountId": tenant["principal"]})
        assert response.status_code == 200, response.text
        return response.json()["permit"]

    own, other = permit_for("AUTH-128"), permit_for("AUTH-129")
    auth = {"Authorization": f"Bearer {own}"}
    init = requests.post(f"{served.url}/v1/tasks/init", json={"model": "strict light", "files": ["list.md"]},
                         headers=auth, timeout=10)
    assert init.status_code == 200, init.text
    run = f"{served.url}/v1/tasks/{init.json()['runId']}"

    def read(path="", permit=own):
        return requests.get(run + path, headers={"Authorization": f"Bearer {permit}"}, timeout=10)

    status = read()
    assert status.status_code == 200 and status.json()["status"]["status"] == "initialized", status.text
    assert requests.get(run, headers={**auth, "If-None-Match": status.headers["ETag"]}, timeout=10).status_code == 304
    assert read("/logs").status_code == 200
    assert refused(read("/output"), 409, "run_not_succeeded")

    for path in ("", "/logs", "/output"):  # a permit of the same tenant for another task
        assert refused(read(path, other), 403, "permit_binding_mismatch"), path
    assert refused(read("", "not-a-permit"), 401, "permit_invalid")
    head, signature = own.rsplit(".", 1)
    assert refused(read("", f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"), 401, "permit_invalid")

    set_installation_status(app, tenant["installation_id"], "suspended")
    for path in ("", "/logs", "/output"):
        assert refused(read(path), 401, "installation_inactive"), path
    set_installation_status(app, tenant["installation_id"], "active")

    with app.app_context():  # the served processes sign with a key of their own: revoke the row by its task
        db.session.execute(update(Permit).where(Permit.task_id == "AUTH-128").values(revoked_at=clock.now()))
        db.session.commit()
    for path in ("", "/logs", "/output"):
        assert refused(read(path), 401, "permit_revoked"), path
    assert read(permit=other).status_code == 403  # the other permit is still live
