"""Task permits on every permit route of the app: exact binding (403), and only a live, untampered permit (401)."""
import base64
import json
import re
import zlib
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from seecodes import clock
from seecodes.extensions import db
from seecodes.permits import service as permits

from ..contract_examples import PERMIT_ROUTE_BODIES
from ..helpers import assert_envelope, bearer, set_installation_status

OWN = {"projectId": "AUTH", "taskId": "AUTH-128"}
OWN_PAIR = ("AUTH", "AUTH-128")
PLACEHOLDER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def permit_routes(app) -> list[tuple[str, str, frozenset]]:
    """(method, rule, path parameters) of every route under /v1/tasks and /v1/projects."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(("/v1/tasks", "/v1/projects")):
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((method, rule.rule, frozenset(rule.arguments)))
    return sorted(found, key=lambda r: (r[1], r[0]))


def binds_task(params) -> bool:
    return "taskId" in params or "runId" in params


def is_bound(params) -> bool:
    """The path names a task, run or project, so the request can name another binding than the permit's."""
    return bool(params)


def call(client, method, rule, permit, run_id, target=OWN):
    """Call a permit route naming the target project/task (and its run) in its path, query and body."""
    values = {**target, "runId": run_id}
    path = PLACEHOLDER.sub(lambda m: values[m.group(1)], rule)
    kwargs = {"headers": bearer(permit) if permit is not None else {}}
    if method == "GET":
        kwargs["query_string"] = {"projectId": target["projectId"]}
    else:
        kwargs["json"] = PERMIT_ROUTE_BODIES.get(rule, {})
    return client.open(path, method=method, **kwargs)


@pytest.fixture
def own_permit(jira):
    return jira.permit(*OWN_PAIR)


@pytest.fixture
def run_id(client, own_permit):
    """A run of the own task, initialized and not uploaded."""
    response = client.post("/v1/tasks/init", json=PERMIT_ROUTE_BODIES["/v1/tasks/init"], headers=bearer(own_permit))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["runId"]


@pytest.fixture
def routes(app):
    found = permit_routes(app)
    assert ("GET", "/v1/tasks/context", frozenset()) in found
    return found


def _mismatches(client, routes, permit, run_id, expected, only=lambda params: True):
    """Routes whose status is not in ``expected``, as (method, rule, status, body)."""
    wrong = []
    for method, rule, params in routes:
        if not only(params):
            continue
        response = call(client, method, rule, permit, run_id)
        if response.status_code not in expected:
            wrong.append((method, rule, response.status_code, response.get_data(as_text=True)[:200]))
        elif response.status_code >= 400:
            assert_envelope(response, response.status_code)
    return wrong


# What each permit route answers the own permit, with the table's bodies, a fresh tenant and a run that is
# initialized but not uploaded: (status, error code or None). A new permit route needs its line here.
OWN_PERMIT_ANSWERS = {
    ("POST", "/v1/projects/<string:projectId>/indexes/query"): (200, None),
    ("POST", "/v1/projects/<string:projectId>/indexes/upsert"): (200, None),
    ("GET", "/v1/tasks/<run_id:runId>"): (200, None),
    ("GET", "/v1/tasks/<run_id:runId>/logs"): (200, None),
    ("GET", "/v1/tasks/<run_id:runId>/output"): (409, "run_not_succeeded"),
    ("POST", "/v1/tasks/<run_id:runId>/start"): (409, "uploads_incomplete"),
    ("POST", "/v1/tasks/<run_id:runId>/cancel"): (200, None),
    ("GET", "/v1/tasks/<string:taskId>/progress"): (200, None),
    ("POST", "/v1/tasks/<string:taskId>/progress"): (200, None),
    ("POST", "/v1/tasks/activity-snapshot"): (200, None),
    ("GET", "/v1/tasks/context"): (404, "Context not found"),
    ("POST", "/v1/tasks/init"): (200, None),
}


def test_the_own_permit_gets_each_routes_own_answer(client, routes, own_permit, run_id):
    answers = {}
    # The cancel ends the shared run: called last, so that every other route answers for a live one.
    for method, rule, _ in sorted(routes, key=lambda route: route[1].endswith("/cancel")):
        response = call(client, method, rule, own_permit, run_id)
        body = response.get_json(silent=True) or {}
        answers[(method, rule)] = (response.status_code, body.get("error"))
        if response.status_code >= 400:
            assert_envelope(response, response.status_code, body.get("error"))
    assert answers == OWN_PERMIT_ANSWERS


def test_every_task_route_refuses_a_permit_of_another_task(client, jira, routes, run_id):
    other_task = jira.permit("AUTH", "AUTH-129")
    assert _mismatches(client, routes, other_task, run_id, {403}, only=binds_task) == []


def test_project_index_routes_accept_a_permit_of_another_task_of_the_project(client, jira, routes, run_id):
    other_task = jira.permit("AUTH", "AUTH-129")
    project_only = lambda params: "projectId" in params and not binds_task(params)  # noqa: E731
    assert _mismatches(client, routes, other_task, run_id, {200}, only=project_only) == []


def test_every_bound_route_refuses_a_permit_of_another_project(client, jira, routes, run_id):
    other_project = jira.permit("BILL", "BILL-7")
    assert _mismatches(client, routes, other_project, run_id, {403}, only=is_bound) == []


def test_every_bound_route_refuses_a_permit_of_another_tenant(client, other_jira, routes, run_id):
    foreign = other_jira.permit("BILL", "BILL-7")
    wrong = []
    for method, rule, params in routes:
        if not is_bound(params):
            continue
        # Another tenant's run is not even acknowledged: 404 is as good as 403 there.
        expected = {403, 404} if "runId" in params else {403}
        wrong += _mismatches(client, [(method, rule, params)], foreign, run_id, expected)
    assert wrong == []


def test_run_routes_refuse_another_tenants_permit_for_the_same_task_names(client, other_jira, routes, run_id):
    same_names = other_jira.permit(*OWN_PAIR)
    has_run = lambda params: "runId" in params  # noqa: E731
    assert _mismatches(client, routes, same_names, run_id, {403, 404}, only=has_run) == []


def test_another_tenant_with_the_same_task_names_sees_none_of_its_context(client, jira, other_jira):
    jira.launch(*OWN_PAIR)
    response = client.get("/v1/tasks/context", headers=bearer(other_jira.permit(*OWN_PAIR)))
    assert response.status_code == 404


def test_unbound_routes_act_only_on_the_permits_own_task(client, jira):
    jira.launch(*OWN_PAIR)
    response = client.get("/v1/tasks/context", headers=bearer(jira.permit("AUTH", "AUTH-129")))
    assert response.status_code == 404


def _refused_everywhere(client, routes, permit, run_id, error=None):
    wrong = []
    for method, rule, _ in routes:
        response = call(client, method, rule, permit, run_id)
        body = response.get_json(silent=True) or {}
        if response.status_code != 401 or body.get("ok") is not False or (error and body.get("error") != error):
            wrong.append((method, rule, response.status_code, response.get_data(as_text=True)[:200]))
    return wrong


def test_every_permit_route_refuses_a_request_without_permit(client, routes, run_id):
    assert _refused_everywhere(client, routes, None, run_id, "credential_missing") == []


@pytest.mark.parametrize("garbage", ["garbage", "a.b.c", "eyJhbGciOi...", "x" * 3000, "..", "e30.e30.e30"])
def test_every_permit_route_refuses_a_malformed_permit(client, routes, run_id, garbage):
    assert _refused_everywhere(client, routes, garbage, run_id) == []


def test_a_permit_is_told_from_a_forge_token_by_its_format(app, jira, signer, tenant):
    with app.test_request_context():
        uncompressed = permits._serializer().dumps({"pid": "pmt_1"})  # too short for itsdangerous to compress
    minted = jira.permit(*OWN_PAIR)
    forge = signer.token(tenant["installation_id"], tenant["cloud_id"], tenant["principal"])
    assert not uncompressed.startswith(".")
    assert permits.looks_like_permit(minted) and permits.looks_like_permit(uncompressed)
    assert not permits.looks_like_permit(forge)
    assert not any(permits.looks_like_permit(garbage) for garbage in ("garbage", "a.b.c", "..", "e30.e30.e30"))


def _with_payload(permit: str, **changes) -> str:
    """The permit's signature over a changed payload."""
    payload, timestamp, signature = permit.rsplit(".", 2)
    compressed = payload.startswith(".")
    raw = base64.urlsafe_b64decode(payload.lstrip(".") + "=" * (-len(payload.lstrip(".")) % 4))
    claims = json.loads(zlib.decompress(raw) if compressed else raw)
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode()).rstrip(b"=").decode()
    return f"{forged}.{timestamp}.{signature}"


def test_every_permit_route_refuses_a_permit_with_a_changed_binding(client, jira, routes, run_id):
    tampered = _with_payload(jira.permit("AUTH", "AUTH-129"), t="AUTH-128")
    assert _refused_everywhere(client, routes, tampered, run_id, "permit_invalid") == []


def test_every_permit_route_refuses_a_validly_signed_permit_whose_binding_is_not_its_rows(app, client, jira, routes,
                                                                                        run_id, in_app):
    """A good signature over another task than the stored row's (what a leaked fallback key could sign): the
    row's binding decides, not the payload."""
    other = jira.permit("AUTH", "AUTH-129")
    claims = in_app(lambda: permits.verify(other))
    with app.app_context():
        forged = permits._serializer().dumps({"pid": claims.permit_id, "ins": claims.installation_id, "p": "AUTH",
                                              "t": "AUTH-128", "u": claims.user_account_id})
    assert _refused_everywhere(client, routes, forged, run_id, "permit_invalid") == []


def test_every_permit_route_refuses_a_permit_with_a_flipped_signature(client, own_permit, routes, run_id):
    # The first character of the signature: the last one may only carry base64 padding bits.
    head, signature = own_permit.rsplit(".", 1)
    tampered = f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    assert _refused_everywhere(client, routes, tampered, run_id, "permit_invalid") == []


def test_every_permit_route_refuses_an_expired_permit(client, own_permit, routes, run_id):
    clock.travel(timedelta(hours=24, seconds=1))
    assert _refused_everywhere(client, routes, own_permit, run_id, "permit_expired") == []


def test_every_permit_route_refuses_a_revoked_permit(client, own_permit, routes, run_id, in_app):
    def revoke():
        permits.revoke(permits.verify(own_permit).permit_id)
        db.session.commit()

    in_app(revoke)
    assert _refused_everywhere(client, routes, own_permit, run_id, "permit_revoked") == []


def test_every_permit_route_refuses_a_permit_of_an_inactive_installation(app, client, own_permit, routes, run_id,
                                                                         tenant):
    set_installation_status(app, tenant["installation_id"], "suspended")
    assert _refused_everywhere(client, routes, own_permit, run_id, "installation_inactive") == []


def test_a_permit_whose_signature_is_older_than_24_hours_is_refused_though_its_row_is_live(client, own_permit,
                                                                                          monkeypatch):
    # The app's clock stands still, so the row's expires_at is not reached: only the signed timestamp ages.
    real = TimestampSigner.get_timestamp
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) + 24 * 3600 + 1)
    assert_envelope(client.get("/v1/tasks/context", headers=bearer(own_permit)), 401, "permit_expired")


def test_a_permit_lasts_24_hours(client, own_permit):
    clock.travel(timedelta(hours=23, minutes=59))
    assert client.get("/v1/tasks/context", headers=bearer(own_permit)).status_code == 404


def test_a_direct_permit_answers_its_24_hour_expiry(jira):
    before = clock.epoch(clock.now())
    response = jira.post("/v1/security/task-permit", json={**OWN, "userAccountId": jira.principal})
    assert before + 86400 <= response.get_json()["expiresAt"] <= clock.epoch(clock.now()) + 86400


def test_a_permit_signed_with_a_key_now_in_the_fallbacks_still_verifies(app, client, own_permit):
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["an-older-key", "test-secret-key"])
    assert client.get("/v1/tasks/context", headers=bearer(own_permit)).status_code == 404


def test_new_permits_are_signed_with_the_current_key(app, client, jira):
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=["test-secret-key"])
    permit = jira.permit(*OWN_PAIR)
    app.config.update(SECRET_KEY_FALLBACKS=[])
    assert client.get("/v1/tasks/context", headers=bearer(permit)).status_code == 404


def test_a_permit_signed_with_a_retired_key_is_refused(app, client, own_permit):
    app.config.update(SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS=[])
    assert_envelope(client.get("/v1/tasks/context", headers=bearer(own_permit)), 401, "permit_invalid")


def test_a_permit_signed_with_an_unknown_key_is_refused(client, own_permit, in_app):
    claims = in_app(lambda: permits.verify(own_permit))
    forged = URLSafeTimedSerializer("an-unknown-key", salt=permits.SALT).dumps(
        {"pid": claims.permit_id, "ins": claims.installation_id, "p": "AUTH", "t": "AUTH-128", "u": None}
    )
    assert_envelope(client.get("/v1/tasks/context", headers=bearer(forged)), 401, "permit_invalid")


def test_a_permit_for_another_installation_id_than_its_row_is_refused(app, client, own_permit, other_tenant, in_app):
    claims = in_app(lambda: permits.verify(own_permit))
    with app.app_context():
        forged = permits._serializer().dumps(  # the row's claims in every field but the installation
            {"pid": claims.permit_id, "ins": other_tenant["installation_id"], "p": claims.project_id,
             "t": claims.task_id, "u": claims.user_account_id}
        )
    assert_envelope(client.get("/v1/tasks/context", headers=bearer(forged)), 401, "permit_invalid")
