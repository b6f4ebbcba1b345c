"""JiraClient: the Jira app's side of the API (Forge token + a rotating single-use request key per chain)."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping

import requests

from . import errors
from .transport import DEFAULT_TIMEOUT, PublicRoutes, Transport, error_from, is_lost_answer, path_segment
from .trust import same_origin

REQUEST_KEY_HEADER = "X-SeeCodes-Jira-Request-Key"
NEXT_KEY_HEADER = "X-SeeCodes-Next-Request-Key"
NEXT_KEY_EXPIRES_HEADER = "X-SeeCodes-Next-Request-Key-Expires-At"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# A key this close to its expiry is not worth sending: bootstrap a fresh chain instead.
EXPIRY_MARGIN_SECONDS = 5.0


class JiraClient(PublicRoutes):
    """One request-key chain of the Jira app, safe to share between threads.

    ``forge_token`` is called before every request and must return a current Forge invocation token
    (Forge tokens live about 25 seconds). Requests on one client are serialised by a lock, because a
    chain has exactly one current key; for parallel work make one client per worker (``fork()``), each
    bootstraps its own independent chain.

    Recovery, so that callers never see a request-key error they could not have avoided:

    - every answer's ``X-SeeCodes-Next-Request-Key`` becomes the current key; a refused answer (4xx/5xx
      envelope) consumed nothing, so the key that was sent stays current;
    - ``401 request_key_replayed/expired/unknown`` means the route did not run: the client bootstraps
      again and retries once, whatever the method;
    - a redirect is never followed (``RedirectRefused``): the Forge token and the key would go to the host
      it names; the key that was sent is dropped, and a next key from any other host is ignored;
    - a lost answer (timeout, reset, a gateway error page) may hide a request that ran and consumed the
      key: the key is dropped, and an idempotent request (GET) is retried once on a fresh chain, while a
      POST raises ``RequestOutcomeUnknown`` — retrying could mint a second link or permit or record a
      metric twice.
    """

    def __init__(self, base_url: str, forge_token: Callable[[], str], *, session_id: str | None = None,
                 cloud_id_hint: str | None = None, site_url_hint: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, session: requests.Session | None = None):
        self.transport = Transport(base_url, timeout=timeout, session=session)
        self.forge_token = forge_token
        self.session_id = session_id
        self.hints = {k: v for k, v in (("cloudIdHint", cloud_id_hint), ("siteUrlHint", site_url_hint)) if v}
        self._lock = threading.Lock()
        self._key: str | None = None
        self._key_expires_at: float | None = None
        self.bootstraps = 0

    def fork(self) -> "JiraClient":
        """Another client on its own new chain, sharing this one's HTTP session and token source."""
        return JiraClient(self.transport.base_url, self.forge_token, cloud_id_hint=self.hints.get("cloudIdHint"),
                          site_url_hint=self.hints.get("siteUrlHint"), timeout=self.transport.timeout,
                          session=self.transport.session)

    # --- the chain ------------------------------------------------------------------------------------

    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.forge_token()}"}

    def bootstrap(self) -> str:
        """``POST /v1/jira/request-key``: a fresh current key (a new chain, or this client's session)."""
        with self._lock:
            return self._bootstrap()

    def _bootstrap(self) -> str:
        body: dict[str, Any] = dict(self.hints)
        if self.session_id:
            body["sessionId"] = self.session_id
        for attempt in (1, 2):  # a lost bootstrap answer is harmless to repeat: it only starts a chain
            try:
                answer = self.transport.post_json("/v1/jira/request-key", body, headers=self._auth())
                break
            except errors.ConnectionFailed:
                if attempt == 2:
                    raise
        self.bootstraps += 1
        self._key = answer["requestKey"]
        self._key_expires_at = float(answer.get("expiresAt") or 0) or None
        return self._key

    def _usable_key(self) -> str:
        expiring = self._key_expires_at is not None and self._key_expires_at - time.time() < EXPIRY_MARGIN_SECONDS
        if self._key is None or expiring:
            self._bootstrap()
        return self._key  # type: ignore[return-value]

    def _adopt_next_key(self, response: requests.Response) -> bool:
        next_key = response.headers.get(NEXT_KEY_HEADER)
        if not next_key:
            return False
        if response.history or not same_origin(response.url, self.transport.base_url):
            return False  # a key handed out by another host is not our backend's: never send it anywhere
        self._key = next_key
        try:
            self._key_expires_at = float(response.headers.get(NEXT_KEY_EXPIRES_HEADER, ""))
        except ValueError:
            self._key_expires_at = None
        return True

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, json: Any = None,
                idempotent: bool | None = None) -> requests.Response:
        """Send one Jira-side request with the chain's current key; rotate, recover, or raise."""
        method = method.upper()
        idempotent = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        params = {**self.hints, **(params or {})} if method == "GET" else params
        if method != "GET" and isinstance(json, dict):
            json = {**self.hints, **json}
        with self._lock:
            for attempt in (1, 2):
                key = self._usable_key()
                self._key = None  # single use: whatever happens next, this key is never sent twice
                headers = {**self._auth(), REQUEST_KEY_HEADER: key}
                try:
                    response = self.transport.send(method, path, headers=headers, params=params, json=json)
                except errors.ConnectionFailed as error:
                    if not error.sent:
                        self._key = key  # the request never left: the key is still current
                        raise
                    if idempotent and attempt == 1:
                        continue
                    if idempotent:
                        raise
                    raise errors.RequestOutcomeUnknown(
                        f"{method} {path} was sent but its answer was lost; it may have taken effect. "
                        "It was not retried.", code="outcome_unknown", method=method, url=error.url) from error
                if self._adopt_next_key(response):
                    return response
                if is_lost_answer(response):
                    if idempotent and attempt == 1:
                        continue
                    if not idempotent:
                        raise errors.RequestOutcomeUnknown(
                            f"{method} {path} got a gateway error ({response.status_code}) instead of the "
                            "backend's answer; it may have taken effect.", code="outcome_unknown",
                            status=response.status_code, method=method, url=response.url)
                    raise error_from(response)
                if response.status_code < 400:
                    return response  # a success without a next key: the next call bootstraps
                refusal = error_from(response)
                if isinstance(refusal, errors.RequestKeyRefused):
                    if attempt == 1:
                        continue  # the route did not run: a fresh chain and one retry are safe for any method
                    raise refusal
                self._key = key  # any other refusal consumed nothing: the key stays current
                raise refusal
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, **kwargs) -> dict:
        return Transport.document(self.request(method, path, **kwargs))

    # --- the Jira routes of the contract ---------------------------------------------------------------

    def instance(self) -> dict:
        """``GET /v1/instances/me``: the installation's status, credits, license and mode."""
        return self._json("GET", "/v1/instances/me")

    def vscode_link(self, project_id: str, task_id: str, *, user_account_id: str | None = None,
                    expiration_days: int = 1, jira_context: dict | None = None,
                    initial_tai_doc: dict | None = None) -> dict:
        """``POST /v1/security/vscode-link``: a one-time launch code and its vscode:// / https launcher URLs."""
        body: dict[str, Any] = {"projectId": project_id, "taskId": task_id, "expirationDays": expiration_days}
        for name, value in (("userAccountId", user_account_id), ("jiraContext", jira_context),
                            ("initialTaiDoc", initial_tai_doc)):
            if value is not None:
                body[name] = value
        return self._json("POST", "/v1/security/vscode-link", json=body)

    def task_permit(self, project_id: str, task_id: str, *, user_account_id: str | None = None) -> dict:
        """``POST /v1/security/task-permit``: a 24-hour task permit minted directly (background flows)."""
        body = {"projectId": project_id, "taskId": task_id}
        if user_account_id:
            body["userAccountId"] = user_account_id
        return self._json("POST", "/v1/security/task-permit", json=body)

    def progress(self, task_id: str, project_id: str) -> dict | None:
        """``GET /v1/tasks/{taskId}/progress`` as the Jira app: the stored document, or None."""
        return self._json("GET", f"/v1/tasks/{path_segment(task_id)}/progress",
                          params={"projectId": project_id})["progress"]

    def usage(self, *, limit: int | None = None, cursor: str | None = None) -> dict:
        """``GET /v1/jira/usage``: one page of usage rows (``items``, ``nextCursor``) and availableCredits."""
        return self._json("GET", "/v1/jira/usage", params={"limit": limit, "cursor": cursor})

    def iter_usage(self, *, page_size: int = 200):
        """Every usage row, newest first, following ``nextCursor``."""
        cursor = None
        while True:
            page = self.usage(limit=page_size, cursor=cursor)
            yield from page["items"]
            cursor = page.get("nextCursor")
            if not cursor:
                return

    def instance_metrics(self, installed_users_count: int, *, source: str | None = None) -> dict:
        """``POST /v1/jira/instance-metrics``: record the installed-user count."""
        body: dict[str, Any] = {"installedUsersCount": installed_users_count}
        if source:
            body["source"] = source
        return self._json("POST", "/v1/jira/instance-metrics", json=body)

    def team_competition(self, *, project_id: str | None = None, start_date: str | None = None,
                         end_date: str | None = None) -> dict:
        """``GET /v1/jira/team-competition``: the retrospective board (dates are ``YYYY-MM-DD``)."""
        return self._json("GET", "/v1/jira/team-competition",
                          params={"projectId": project_id, "startDate": start_date, "endDate": end_date})

    def telemetry_events(self, events: list[dict]) -> dict:
        """``POST /v1/jira/telemetry/events``: disabled by the backend, always raises ``Gone`` (410)."""
        response = self.transport.send("POST", "/v1/jira/telemetry/events", json={"events": events},
                                       headers=self._auth())
        return Transport.document(response)
