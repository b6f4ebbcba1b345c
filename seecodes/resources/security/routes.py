"""Routes of the security tag."""
from flask import Response
from flask.views import MethodView

from ... import clock
from ...apidoc import raises
from ...auth.cache_control import no_store
from ...auth.guards import acting_user, forge_bearer, forge_request_key, rate_limited, transactional
from ...launch_codes import launcher, service as launch_codes
from ...permits import service as permits
from ...ratelimit import exchange_limit
from ...request_keys import service as request_keys
from ...task_context import service as task_context
from .blueprint import blp
from .schemas import (
    LaunchExchangeBodySchema,
    LaunchQuerySchema,
    PermitSchema,
    RequestKeyBodySchema,
    RequestKeySchema,
    TaskBindingBodySchema,
    VscodeLinkBodySchema,
    VscodeLinkSchema,
)


USER_MISMATCH = {403: ["user_mismatch"]}  # acting_user: a body naming another user than the token's principal


def _permit_answer(installation, project_id, task_id, issued):
    return {
        "ok": True,
        "cloudId": installation.installation_id,
        "projectId": project_id,
        "taskId": task_id,
        "permit": issued.permit,
        "expiresAt": clock.epoch(issued.expires_at),
    }


@blp.route("/v1/jira/request-key")
class RequestKey(MethodView):
    @no_store
    @forge_bearer
    @blp.arguments(RequestKeyBodySchema, required=False)
    @blp.response(200, RequestKeySchema)
    @raises({409: ["request_key_conflict"]})  # a concurrent bootstrap of the same chain
    def post(self, body, caller):
        """Issue a single-use Jira backend request key

        Without `sessionId`, starts a new independent key chain: two tabs or background jobs of one
        user each bootstrap their own and never supersede each other. With `sessionId`, makes a fresh
        current key for that session's chain; the chain's previous key stops working. The key names its
        chain, so later requests never repeat the sessionId. At most 32 live chains per (installation,
        user) are kept (`SEECODES_REQUEST_KEY_MAX_CHAINS`); beyond that the least recently used are
        superseded. Keys live 10 minutes by default. Every bootstrap needs a valid Forge token.
        """
        chain = request_keys.chain_for(caller.installation.id, caller.principal, body.get("sessionId"))
        issued = request_keys.bootstrap(chain)
        return {"ok": True, "requestKey": issued.key, "expiresAt": clock.epoch(issued.expires_at)}


@blp.route("/v1/security/vscode-link")
class VscodeLink(MethodView):
    @no_store
    @forge_request_key
    @blp.arguments(VscodeLinkBodySchema)
    @blp.response(200, VscodeLinkSchema)
    @raises(USER_MISMATCH)
    def post(self, body, caller):
        """Mint a secure IDE launch payload

        A one-time launch code bound to (installation, projectId, taskId, user) and the vscode://
        and HTTPS launcher URLs. The launcher carries only the code, never the permit.
        """
        user = acting_user(caller, body.get("userAccountId"))
        task_context.store(caller.installation.id, body["projectId"], body["taskId"],
                           body.get("jiraContext"), body.get("initialTaiDoc"))
        minted = launch_codes.mint(caller.installation, body["projectId"], body["taskId"], user,
                                   body["expirationDays"])
        return {
            "ok": True,
            "launchCode": minted.code,
            "vscodeUrl": minted.vscode_url,
            "httpsUrl": minted.https_url,
            "expiresAt": clock.epoch(minted.expires_at),
        }


@blp.route("/v1/security/task-permit")
class TaskPermit(MethodView):
    @no_store
    @forge_request_key
    @blp.arguments(TaskBindingBodySchema)
    @blp.response(200, PermitSchema)
    @raises(USER_MISMATCH)
    def post(self, body, caller):
        """Mint a task-scoped permit directly

        A 24-hour bearer permit for one Jira project/task, for Jira-side background flows.
        """
        user = acting_user(caller, body.get("userAccountId"))
        issued = permits.mint(caller.installation, body["projectId"], body["taskId"], user, "direct")
        return _permit_answer(caller.installation, body["projectId"], body["taskId"], issued)


@blp.route("/v1/security/launch-exchange")
class LaunchExchange(MethodView):
    @no_store
    @rate_limited("launch-exchange", exchange_limit)
    @transactional
    @blp.arguments(LaunchExchangeBodySchema)
    @blp.response(200, PermitSchema)
    # A reuse (launch_code_replayed) revokes the permit of the first exchange; a binding mismatch consumes nothing.
    @raises({401: ["launch_code_invalid", "launch_code_expired", "launch_code_replayed", "launch_code_revoked",
                   "installation_inactive"],
             403: ["launch_code_binding_mismatch", "installation_uninstalled"], 503: ["service_unavailable"]})
    def post(self, body):
        """Exchange a one-time launch code for the task permit

        Consumes the code only when it is unused, unexpired and projectId/taskId match its
        binding; a mismatch consumes nothing; a replay is refused and revokes the permit minted
        from the code. Attempts are rate limited per client address.
        """
        installation, issued = launch_codes.exchange(body["code"], body["projectId"], body["taskId"])
        return _permit_answer(installation, body["projectId"], body["taskId"], issued)


@blp.route("/v1/launch")
class Launch(MethodView):
    @blp.arguments(LaunchQuerySchema, location="query", error_status_code=400)
    @blp.response(200, {"type": "string"}, content_type="text/html",
                  description="Launcher page redirecting into vscode://")
    def get(self, query):
        """HTTPS launcher for vscode:// fallback

        A small HTML page that redirects into the editor with the one-time launch code and shows
        a clickable fallback link. Served with no-store, no-referrer and a strict CSP.
        """
        html, headers = launcher.render(query["p"], query["t"], query["c"], query.get("baseUrl"),
                                        query.get("statusLanguage"))
        return Response(html, status=200, headers=headers)
