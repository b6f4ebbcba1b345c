"""What an operator sees of one installation: status, credits, live credentials by kind, last activity, events."""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from .. import clock
from ..audit import service as audit
from ..audit.models import SecurityEvent
from ..extensions import db
from ..launch_codes.models import LaunchCode
from ..permits.models import Permit
from ..request_keys.models import RequestKey
from ..runs.models import Run
from .models import Installation


@dataclass(frozen=True)
class Report:
    installation: Installation
    live: dict[str, int]
    last_activity: tuple[datetime, str] | None
    events: list[SecurityEvent]


def live_credentials(installation_pk: int) -> dict[str, int]:
    """Unexpired credentials that still work, by kind; each count walks an index of installation_pk."""
    moment = clock.now()
    count = lambda model, *conditions: db.session.scalar(  # noqa: E731
        select(func.count()).select_from(model).where(model.installation_pk == installation_pk, *conditions))
    return {
        "launch codes": count(LaunchCode, LaunchCode.consumed_at.is_(None), LaunchCode.revoked_at.is_(None),
                              LaunchCode.expires_at > moment),
        "permits": count(Permit, Permit.revoked_at.is_(None), Permit.expires_at > moment),
        "request-key chains": count(RequestKey, RequestKey.consumed_at.is_(None), RequestKey.superseded_at.is_(None),
                                    RequestKey.expires_at > moment),
    }


def last_activity(installation_pk: int) -> tuple[datetime, str] | None:
    """The newest of: a Jira call (a chain's live key is renewed by each one), a permit, a launch link, a run."""
    candidates = [
        (db.session.scalar(select(func.max(RequestKey.created_at)).where(
            RequestKey.installation_pk == installation_pk, RequestKey.consumed_at.is_(None),
            RequestKey.superseded_at.is_(None))), "Jira call"),
        (db.session.scalar(select(func.max(Permit.issued_at)).where(Permit.installation_pk == installation_pk)),
         "permit issued"),
        (db.session.scalar(select(func.max(LaunchCode.created_at)).where(
            LaunchCode.installation_pk == installation_pk)), "launch link created"),
        (db.session.scalar(select(func.max(Run.created_at)).where(Run.installation_pk == installation_pk)),
         "run created"),
    ]
    found = [candidate for candidate in candidates if candidate[0] is not None]
    return max(found) if found else None


def report(installation: Installation, events: int = 10) -> Report:
    return Report(installation, live_credentials(installation.id), last_activity(installation.id),
                  audit.recent(installation.id, events))


def text(found: Report) -> str:
    """The report as `flask installations show` prints it."""
    installation = found.installation
    lines = [
        f"installation   {installation.installation_id}",
        f"site           {installation.site_cloud_id or '-'}  {installation.site_url or ''}".rstrip(),
        f"status         {installation.status}"
        + (f" (since {clock.iso(installation.uninstalled_at)})" if installation.uninstalled_at else ""),
        f"credits        {installation.credits}",
        f"app version    {installation.app_version or '-'}",
        "live credentials " + ", ".join(f"{kind}: {number}" for kind, number in found.live.items()),
        "last activity  " + (f"{clock.iso(found.last_activity[0])} ({found.last_activity[1]})"
                             if found.last_activity else "none"),
        f"recent security events ({len(found.events)}):",
    ]
    for event in found.events:
        details = {k: v for k, v in (event.details or {}).items() if k != "severity"}
        severity = (event.details or {}).get("severity", "")
        lines.append(f"  {clock.iso(event.created_at)}  {event.kind}  [{severity}]  "
                     + " ".join(f"{k}={v}" for k, v in details.items()))
    return "\n".join(lines)
