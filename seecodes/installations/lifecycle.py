"""An installation's life cycle: Forge's installed / upgraded / uninstalled events, and revoking its credentials.

Every write is a conditional statement, so a retried delivery (Forge retries a failed one up to 4 times) matches
nothing and changes nothing; the work of one event is a fixed set of statements (plus one settlement per run in
flight), well within Forge's 5-second timeout.
"""
import re
from dataclasses import dataclass

from sqlalchemy import select, update

from .. import clock, poll_tags
from ..audit import service as audit
from ..extensions import db
from ..launch_codes import service as launch_codes
from ..permits import service as permits
from ..request_keys import service as request_keys
from ..runs import state
from ..runs.models import ACTIVE_STATUSES, Run
from . import service
from .models import Installation
from .snapshot import InstallationSnapshot

INSTALLED = "avi:forge:installed:app"
UPGRADED = "avi:forge:upgraded:app"
UNINSTALLED = "avi:forge:uninstalled:app"
EVENT_TYPES = (INSTALLED, UPGRADED, UNINSTALLED)
# The event's `context`: the ARI of the site the app was installed on (ari:cloud:jira::site/<cloudId>).
SITE_ARI = re.compile(r"^ari:cloud:[a-z]+::site/([A-Za-z0-9-]{1,64})$")
UNINSTALL_ERROR = "the app was uninstalled from the Jira site"
# Runs in flight of one installation are few (each needed a start and credits); the cap keeps one event's work
# bounded even so, and a retried or later uninstalled event settles any that remain.
MAX_RUNS_SETTLED = 500


@dataclass(frozen=True)
class Revoked:
    """How many credentials of each kind a revocation stopped."""

    launch_codes: int = 0
    permits: int = 0
    request_keys: int = 0

    @property
    def total(self) -> int:
        return self.launch_codes + self.permits + self.request_keys

    def document(self) -> dict:
        return {"launchCodes": self.launch_codes, "permits": self.permits, "requestKeys": self.request_keys}


@dataclass(frozen=True)
class Outcome:
    event_type: str
    installation_id: str
    status: str
    changed: bool
    revoked: Revoked = Revoked()
    settled_runs: int = 0

    def document(self) -> dict:
        return {"ok": True, "eventType": self.event_type, "installationId": self.installation_id,
                "status": self.status, "changed": self.changed, "revoked": self.revoked.document(),
                "settledRuns": self.settled_runs}


def revoke(installation_pk: int, *, user_account_id: str | None = None, project_id: str | None = None,
           task_id: str | None = None, permit_id: str | None = None) -> Revoked:
    """Revoke the live credentials in a scope, in the caller's transaction: the whole installation, one user
    (launch codes and permits for them, their request-key chains), one task (its launch codes and permits:
    request-key chains belong to no task), or one permit. One UPDATE per kind; every check reads the rows, so
    each revoked credential is refused from the commit on."""
    moment = clock.now()
    if permit_id is not None:
        return Revoked(permits=permits.revoke_matching(installation_pk, moment, permit_id=permit_id))
    scope = {"user_account_id": user_account_id, "project_id": project_id, "task_id": task_id}
    keys = 0 if project_id or task_id else request_keys.revoke_chains(installation_pk, moment, user_account_id)
    return Revoked(launch_codes=launch_codes.revoke_matching(installation_pk, moment, **scope),
                   permits=permits.revoke_matching(installation_pk, moment, **scope), request_keys=keys)


def revoke_recorded(installation_pk: int, actor: str, reason: str | None = None, **scope) -> Revoked:
    """revoke(), with the security event that says who revoked what (and why), committed with it."""
    revoked = revoke(installation_pk, **scope)
    audit.stage("credentials_revoked", installation_pk, actor=actor, reason=reason,
                scope={name: value for name, value in scope.items() if value is not None} or "installation",
                **revoked.document())
    return revoked


def site_cloud_id(context) -> str | None:
    """The site's cloud id from the event's `context` ARI; None when absent or not a site ARI."""
    match = SITE_ARI.fullmatch(context) if isinstance(context, str) else None
    return match.group(1) if match else None


def apply_event(identity, event_type: str, body: dict) -> Outcome:
    """Apply one lifecycle event to the token's installation (the token names the tenant; the body only adds the
    site's cloud id, which may not contradict it, and the app version), in the caller's transaction."""
    cloud_id_hint = site_cloud_id(body.get("context"))
    version = (body.get("app") or {}).get("version")
    if event_type == UNINSTALLED:
        installation = service.find(identity.installation_id)
        if installation is None:  # never seen: nothing to revoke, and no tenant is made up for it
            return Outcome(event_type, identity.installation_id, "unknown", False)
        service.learn(installation, identity, cloud_id_hint)
        return uninstall(installation)
    installation = service.find(identity.installation_id)
    known = installation is not None
    if not known:
        installation = service.find_or_provision(identity)
    service.learn(installation, identity, cloud_id_hint)
    changed = not known
    if event_type == INSTALLED:
        changed = reactivate(installation) or changed
        if not known:
            audit.stage("installation_installed", installation.id, appVersion=version)
    changed = _record_version(installation, version, event_type) or changed
    return Outcome(event_type, installation.installation_id, _status(installation.id), changed)


def uninstall(installation: Installation | InstallationSnapshot, actor: str = "forge") -> Outcome:
    """Mark it uninstalled, revoke every live credential, fail and refund its runs in flight: one transaction.

    The status changes first: its row lock makes a concurrent debit of this installation wait for the commit.
    Revocation and settlement run on every delivery (a retry finds nothing left to do, so changes nothing), and
    the security event is staged only when something changed.
    """
    moment = clock.now()
    marked = db.session.execute(
        update(Installation)
        .where(Installation.id == installation.id, Installation.status != service.UNINSTALLED)
        .values(status=service.UNINSTALLED, uninstalled_at=moment, updated_at=moment)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if marked:
        poll_tags.installation_changed(db.session, installation.installation_id)
    revoked = revoke(installation.id)
    settled = settle_runs(installation.id)
    if marked or revoked.total or settled:
        audit.stage("installation_uninstalled", installation.id, actor=actor, settledRuns=settled,
                    **revoked.document())
    return Outcome(UNINSTALLED, installation.installation_id, service.UNINSTALLED, marked or bool(revoked.total)
                   or bool(settled), revoked, settled)


def settle_runs(installation_pk: int) -> int:
    """Fail and refund the installation's queued and running runs (state.fail: a conditional transition and the
    one refund rule, so a run settled meanwhile by its job or the reaper is left as it is, and no credit moves
    twice). A job still working on one finds it failed and discards its result (jobs.abandon). Runs waiting for
    their start hold no credits and can no longer start (their permits are revoked); they are left as they are.
    """
    run_ids = db.session.execute(
        select(Run.id).where(Run.installation_pk == installation_pk, Run.status.in_(ACTIVE_STATUSES))
        .order_by(Run.id).limit(MAX_RUNS_SETTLED)
    ).scalars().all()
    return sum(1 for run_id in run_ids if state.fail(run_id, UNINSTALL_ERROR))


def reactivate(installation: Installation | InstallationSnapshot, actor: str = "forge") -> bool:
    """uninstalled -> active (an operator's suspension is not lifted by Forge); the credentials revoked at the
    uninstall stay revoked: the site starts over with new ones."""
    reactivated = db.session.execute(
        update(Installation)
        .where(Installation.id == installation.id, Installation.status == service.UNINSTALLED)
        .values(status=service.ACTIVE, uninstalled_at=None, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if reactivated:
        audit.stage("installation_reactivated", installation.id, actor=actor)
    return reactivated


def _record_version(installation: InstallationSnapshot, version, event_type: str) -> bool:
    if not isinstance(version, str) or not version or len(version) > 64:
        return False
    recorded = db.session.execute(
        update(Installation)
        .where(Installation.id == installation.id,
               (Installation.app_version.is_(None)) | (Installation.app_version != version))
        .values(app_version=version, updated_at=clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if recorded and event_type == UPGRADED:
        audit.stage("installation_upgraded", installation.id, appVersion=version)
    return recorded


def _status(installation_pk: int) -> str:
    return db.session.execute(select(Installation.status).where(Installation.id == installation_pk)).scalar_one()
