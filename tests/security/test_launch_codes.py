"""Launch codes: format, launcher URLs, lifetime, exact binding, single use, replay revocation, rate limit."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from seecodes import clock, ids, ratelimit
from seecodes.extensions import db
from seecodes.launch_codes.models import LaunchCode

from ..helpers import VSCODE_LINK_EXAMPLE, assert_envelope, bearer, set_installation_status

URL_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")


@pytest.fixture
def link(jira):
    """vscode-link with the example body (and changes); returns the answer."""

    def mint(**changes):
        response = jira.post("/v1/security/vscode-link",
                             json={**VSCODE_LINK_EXAMPLE, "userAccountId": jira.principal, **changes})
        assert response.status_code == 200, response.get_json()
        return response.get_json()

    return mint


def _exchange(client, code, project_id="AUTH", task_id="AUTH-128", **kwargs):
    return client.post("/v1/security/launch-exchange",
                       json={"code": code, "projectId": project_id, "taskId": task_id}, **kwargs)


def test_launch_code_is_url_safe_with_at_least_128_random_bits(link):
    code = link()["launchCode"]
    assert code.startswith("sc_launch_")
    secret = code[len("sc_launch_"):]
    assert URL_SAFE.match(secret)
    assert len(secret) * 6 >= 128


def test_launch_codes_are_never_repeated(link):
    assert len({link()["launchCode"] for _ in range(5)}) == 5


def test_vscode_url_has_the_contracts_shape(link):
    body = link()
    assert body["vscodeUrl"] == (
        f"vscode://eprojac.seecodes-task-runner/project/AUTH/task/AUTH-128?code={body['launchCode']}"
    )


def test_vscode_url_uses_the_configured_extension_id(app, link):
    app.config["SEECODES_VSCODE_EXTENSION_ID"] = "acme.task-runner"
    body = link()
    assert body["vscodeUrl"] == f"vscode://acme.task-runner/project/AUTH/task/AUTH-128?code={body['launchCode']}"


def test_https_url_uses_the_public_base_url(app, link):
    app.config["SEECODES_PUBLIC_BASE_URL"] = "https://dev.seecodes.com"
    body = link()
    assert body["httpsUrl"] == f"https://dev.seecodes.com/v1/launch?p=AUTH&t=AUTH-128&c={body['launchCode']}"


def test_launch_urls_carry_the_code_never_a_permit(link):
    body = link()
    assert "permit" not in body
    assert body["httpsUrl"].endswith(f"c={body['launchCode']}")


@pytest.mark.parametrize("days", [0, 15, -1, 365])
def test_expiration_days_outside_1_to_14_is_422(jira, days):
    response = jira.post("/v1/security/vscode-link",
                         json={**VSCODE_LINK_EXAMPLE, "userAccountId": jira.principal, "expirationDays": days})
    body = assert_envelope(response, 422, "validation_failed")
    assert "expirationDays" in body["errors"]


@pytest.mark.parametrize("days", [1, 14])
def test_expiration_days_1_and_14_are_accepted(link, days):
    before = clock.epoch(clock.now())
    expires_at = link(expirationDays=days)["expiresAt"]
    assert before + days * 86400 <= expires_at <= clock.epoch(clock.now()) + days * 86400


def test_expiration_days_defaults_to_one(jira):
    body = {k: v for k, v in VSCODE_LINK_EXAMPLE.items() if k != "expirationDays"}
    before = clock.epoch(clock.now())
    response = jira.post("/v1/security/vscode-link", json={**body, "userAccountId": jira.principal})
    assert before + 86400 <= response.get_json()["expiresAt"] <= clock.epoch(clock.now()) + 86400


def test_code_still_works_just_before_it_expires(client, link):
    code = link(expirationDays=2)["launchCode"]
    clock.travel(timedelta(days=2, seconds=-30))
    assert _exchange(client, code).status_code == 200


def test_code_expires_after_expiration_days(client, link):
    code = link(expirationDays=2)["launchCode"]
    clock.travel(timedelta(days=2, seconds=1))
    assert_envelope(_exchange(client, code), 401, "launch_code_expired")


def test_project_mismatch_is_403(client, link):
    assert_envelope(_exchange(client, link()["launchCode"], project_id="OTHER"), 403, "launch_code_binding_mismatch")


def test_task_mismatch_is_403(client, link):
    assert_envelope(_exchange(client, link()["launchCode"], task_id="AUTH-129"), 403, "launch_code_binding_mismatch")


def test_a_mismatch_consumes_nothing(client, link):
    code = link()["launchCode"]
    _exchange(client, code, project_id="OTHER")
    _exchange(client, code, task_id="AUTH-129")
    assert _exchange(client, code).status_code == 200


def test_a_mismatch_is_recorded_as_a_security_event(client, link, tenant, security_events):
    _exchange(client, link()["launchCode"], task_id="AUTH-129")
    assert [i for _, i, _ in security_events("launch_code_binding_mismatch")] == [tenant["installation_id"]]


def test_a_replay_is_refused(client, link):
    code = link()["launchCode"]
    assert _exchange(client, code).status_code == 200
    assert_envelope(_exchange(client, code), 401, "launch_code_replayed")


def test_a_replay_revokes_the_permit_of_the_first_exchange(client, link):
    code = link()["launchCode"]
    permit = _exchange(client, code).get_json()["permit"]
    assert client.get("/v1/tasks/context", headers=bearer(permit)).status_code == 200
    _exchange(client, code)
    assert_envelope(client.get("/v1/tasks/context", headers=bearer(permit)), 401, "permit_revoked")


def test_a_replay_with_a_wrong_binding_still_revokes(client, link):
    code = link()["launchCode"]
    permit = _exchange(client, code).get_json()["permit"]
    assert_envelope(_exchange(client, code, task_id="AUTH-129"), 401, "launch_code_replayed")
    assert_envelope(client.get("/v1/tasks/context", headers=bearer(permit)), 401, "permit_revoked")


def test_a_replay_leaves_other_permits_alone(client, jira, link):
    other_permit = jira.permit()
    code = link()["launchCode"]
    _exchange(client, code)
    _exchange(client, code)
    assert client.get("/v1/tasks/context", headers=bearer(other_permit)).status_code == 200


def test_a_replay_is_recorded_as_a_security_event(client, link, tenant, security_events):
    code = link()["launchCode"]
    _exchange(client, code)
    _exchange(client, code)
    assert [i for _, i, _ in security_events("launch_code_replayed")] == [tenant["installation_id"]]


def test_an_unknown_code_is_refused(client):
    assert_envelope(_exchange(client, ids.new_secret("sc_launch_")), 401, "launch_code_invalid")


@pytest.mark.parametrize("code", ["sc_launch_", "sc_launch_short", "x" * 60, "sc_launch_" + "!" * 43])
def test_a_malformed_code_is_refused_as_invalid(client, code):
    assert_envelope(_exchange(client, code), 401, "launch_code_invalid")


def test_an_empty_code_is_422(client):
    assert "code" in assert_envelope(_exchange(client, ""), 422, "validation_failed")["errors"]


@pytest.mark.parametrize("missing", ["code", "projectId", "taskId"])
def test_an_exchange_without_a_required_field_is_422(client, link, missing):
    body = {"code": link()["launchCode"], "projectId": "AUTH", "taskId": "AUTH-128"}
    del body[missing]
    assert missing in assert_envelope(client.post("/v1/security/launch-exchange", json=body), 422)["errors"]


def test_the_exchanged_permit_is_bound_to_the_codes_user(client, link, jira, in_app):
    from seecodes.permits.models import Permit

    _exchange(client, link()["launchCode"])
    users = in_app(lambda: [p.user_account_id for p in db.session.execute(select(Permit)).scalars()])
    assert users == [jira.principal]


def test_codes_are_stored_only_as_hashes(link, in_app):
    code = link()["launchCode"]
    assert in_app(lambda: [r.code_hash for r in db.session.execute(select(LaunchCode)).scalars()]) == [
        ids.hash_secret(code)
    ]


def test_vscode_link_for_another_user_than_the_tokens_is_403(jira):
    response = jira.post("/v1/security/vscode-link", json={**VSCODE_LINK_EXAMPLE, "userAccountId": "557058:mallory"})
    assert_envelope(response, 403, "user_mismatch")


@pytest.fixture
def tight_limit(app):
    # A window longer than the test run, so the count never straddles two windows.
    app.config.update(SEECODES_EXCHANGE_RATE_LIMIT=3, SEECODES_EXCHANGE_RATE_WINDOW_SECONDS=10**9)


RATE_LIMIT_BACKENDS = pytest.mark.backends("sqlite", "postgresql", "production")  # production: counters in Redis


@RATE_LIMIT_BACKENDS
def test_exchange_attempts_are_rate_limited_per_client_address(client, tight_limit):
    for _ in range(3):
        assert _exchange(client, ids.new_secret("sc_launch_")).status_code == 401
    response = _exchange(client, ids.new_secret("sc_launch_"))
    assert_envelope(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


@RATE_LIMIT_BACKENDS
def test_a_rate_limited_address_cannot_exchange_even_a_good_code(client, link, tight_limit):
    code = link()["launchCode"]
    for _ in range(3):
        _exchange(client, ids.new_secret("sc_launch_"))
    assert_envelope(_exchange(client, code), 429, "rate_limited")
    assert _exchange(client, code, environ_base={"REMOTE_ADDR": "10.9.8.7"}).status_code == 200


@RATE_LIMIT_BACKENDS
def test_the_rate_limit_counts_each_address_apart(client, tight_limit):
    for _ in range(3):
        _exchange(client, ids.new_secret("sc_launch_"))
    other = _exchange(client, ids.new_secret("sc_launch_"), environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 401


@pytest.mark.backends("production")
def test_the_rate_limit_counts_in_redis_so_another_process_sees_the_attempts(client, tight_limit):
    for _ in range(3):
        _exchange(client, ids.new_secret("sc_launch_"))
    ratelimit.reset_memory()  # what a second gunicorn process or host starts with
    assert_envelope(_exchange(client, ids.new_secret("sc_launch_")), 429, "rate_limited")


@RATE_LIMIT_BACKENDS
def test_the_rate_limit_window_resets(app, client):
    """On the limiter's clock (seecodes.clock, epoch seconds from clock.now()): refused until the window has
    passed, let through after it."""
    app.config.update(SEECODES_EXCHANGE_RATE_LIMIT=3, SEECODES_EXCHANGE_RATE_WINDOW_SECONDS=60)
    for _ in range(3):
        assert_envelope(_exchange(client, ids.new_secret("sc_launch_")), 401, "launch_code_invalid")
    assert_envelope(_exchange(client, ids.new_secret("sc_launch_")), 429, "rate_limited")
    clock.travel(timedelta(seconds=58))
    refused = _exchange(client, ids.new_secret("sc_launch_"))
    assert_envelope(refused, 429, "rate_limited")
    assert refused.headers["Retry-After"] in ("1", "2")
    clock.travel(timedelta(seconds=3))
    assert_envelope(_exchange(client, ids.new_secret("sc_launch_")), 401, "launch_code_invalid")


def test_a_code_of_an_inactive_installation_is_refused(app, client, link, tenant):
    code = link()["launchCode"]
    set_installation_status(app, tenant["installation_id"], "suspended")
    assert_envelope(_exchange(client, code), 401, "installation_inactive")


def test_a_code_refused_for_an_inactive_installation_is_not_consumed(app, client, link, tenant):
    code = link()["launchCode"]
    set_installation_status(app, tenant["installation_id"], "suspended")
    _exchange(client, code)
    set_installation_status(app, tenant["installation_id"], "active")
    assert _exchange(client, code).status_code == 200
