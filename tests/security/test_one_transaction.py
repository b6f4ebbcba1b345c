"""One transaction per request, owned by the guard: what a Jira request teaches about its installation (a site URL,
a license) commits with the route's own work in one COMMIT and is rolled back with it; services only stage."""
import ast
from datetime import timedelta
from pathlib import Path

from seecodes import clock
from seecodes.extensions import db
from seecodes.launch_codes import service as launch_codes

from ..helpers import REQUEST_KEY, VSCODE_LINK_EXAMPLE, assert_envelope, sql_log

SITE = "https://acme.atlassian.net"
SEECODES = Path(__file__).resolve().parents[2] / "seecodes"


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


# --- services never commit ------------------------------------------------------------------------------

def test_a_launch_exchange_is_staged_by_the_service_and_committed_by_its_route(app, client, jira):
    link = jira.post("/v1/security/vscode-link", json={**VSCODE_LINK_EXAMPLE, "projectId": "AUTH",
                                                       "taskId": "AUTH-128", "userAccountId": jira.principal})
    body = {"code": link.get_json()["launchCode"], "projectId": "AUTH", "taskId": "AUTH-128"}
    with app.app_context():
        launch_codes.exchange(body["code"], body["projectId"], body["taskId"])
        db.session.rollback()  # nothing was committed: the code is still unused
    assert client.post("/v1/security/launch-exchange", json=body).status_code == 200
    assert_envelope(client.post("/v1/security/launch-exchange", json=body), 401, "launch_code_replayed")



# Where a commit is the design, with the reason (each is also said in the function's docstring). A function that
# a request runs only stages: the guard (auth/guards.py) commits the request's one transaction.
COMMITS = {
    ("auth/guards.py", "_transaction"): "the request's one transaction",
    ("audit/service.py", "record"): "a refusal's security event outlives the refused request's rollback",
    ("installations/service.py", "_provision"): "a tenant exists from its first valid token on, whatever the "
                                                "request's outcome, so a refusal's event can name it",
    ("launch_codes/service.py", "_refuse"): "a replayed code's permit stays revoked though the replay is refused",
    ("retention.py", "_delete_where"): "a job: one short transaction per batch of deleted rows",
    ("catalog/service.py", "_seed"): "a command's whole work (flask models seed), retried when a concurrent "
                                     "seed's commit won",
}
CLI_MODULES = {"cli.py", "installations/cli.py"}  # a command owns its transaction
# The run's job, the worker, the reaper and the periodic lifetime work own their transactions (tests/runs/); the
# request path of runs (runs/service.py) only stages.
REQUEST_PATH_OF_RUNS = {"runs/service.py", "runs/dispatch.py"}


def _commits() -> set[tuple[str, str]]:
    found = set()
    for path in SEECODES.rglob("*.py"):
        module = path.relative_to(SEECODES).as_posix()
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                        and node.func.attr == "commit" and not node.args:
                    found.add((module, function.name))
    return found


def test_only_the_guard_and_the_documented_exceptions_commit():
    unexpected = sorted(
        (module, function) for module, function in _commits()
        if (module, function) not in COMMITS and module not in CLI_MODULES
        and not (module.startswith("runs/") and module not in REQUEST_PATH_OF_RUNS)
    )
    assert not unexpected, ("a service commits: stage the work and let the guard commit the request's transaction, "
                            f"or add the exception with its reason: {unexpected}")


def test_every_documented_exception_still_commits():
    assert set(COMMITS) <= _commits()
