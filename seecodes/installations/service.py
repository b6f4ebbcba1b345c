"""Resolving the tenant of a verified Forge identity, provisioning it on first sight, and credits."""
import re
from dataclasses import replace
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import clock, ids
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from .models import Installation
from .snapshot import COLUMNS, InstallationSnapshot

INSTALLATIONS = Installation.__table__

INSTALLATION_ARI = re.compile(r"^ari:cloud:ecosystem::installation/[A-Za-z0-9-]{1,64}$")
SITE_CLOUD_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
ACTIVE, UNINSTALLED = "active", "uninstalled"


def uninstalled() -> Forbidden:
    """The one refusal of every credential of an uninstalled installation (Jira routes, permits, launch codes):
    403, since the credential itself may be valid; only Forge's installed event reactivates the installation."""
    return Forbidden("The app was uninstalled from this Jira site; reinstall it to use SeeCodes again.",
                     code="installation_uninstalled", installationStatus=UNINSTALLED)


def require_active(installation: InstallationSnapshot) -> None:
    """Refuse an installation that is not active: 403 installation_uninstalled or installation_inactive."""
    if installation.status == UNINSTALLED:
        raise uninstalled()
    if installation.status != ACTIVE:
        raise Forbidden("This installation is not active.", code="installation_inactive")


def get_by_installation_id(installation_id: str) -> Installation | None:
    return db.session.execute(
        select(Installation).where(Installation.installation_id == installation_id)
    ).scalar_one_or_none()


def create(installation_id: str, site_cloud_id=None, site_url=None, credits=0, activation_source="forge-token"):
    """Insert an installation; raises IntegrityError when it already exists."""
    installation = Installation(
        installation_id=installation_id,
        site_cloud_id=site_cloud_id,
        site_url=site_url,
        credits=credits,
        api_key_prefix=ids.new_id("av_inst_", 6),
        activation_source=activation_source,
    )
    db.session.add(installation)
    db.session.flush()
    return installation


def normalise_site_url(raw: str) -> str:
    invalid = Invalid("siteUrlHint must be an http(s) URL of the Jira site.",
                      errors={"siteUrlHint": ["Not a site URL."]})
    try:
        parts = urlsplit(raw.strip())
        port = f":{parts.port}" if parts.port else ""  # .port raises ValueError for a non-numeric port
    except ValueError:
        raise invalid
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.username or parts.password:
        raise invalid
    return f"{parts.scheme}://{parts.hostname.lower()}{port}"


def _changes(installation, identity, cloud_id_hint, site_url_hint) -> list[tuple]:
    """What the token (license, environment) and its hints would change on the installation, as (column, value,
    refusal) rows (refusal None when the token itself is authoritative, else the 403 of a hint that finds the
    column filled otherwise). Refuses a hint that names another tenant. Writes nothing."""
    changes = [(INSTALLATIONS.c[name], value, None) for name, value in _license(identity).items()
               if getattr(installation, name) != value]
    site_cloud_id = identity.site_cloud_id
    if cloud_id_hint:
        if cloud_id_hint.startswith("ari:"):
            if cloud_id_hint != installation.installation_id:
                raise Forbidden("cloudIdHint names another installation than the token's.", code="tenant_mismatch")
        elif not SITE_CLOUD_ID.fullmatch(cloud_id_hint):
            raise Invalid("cloudIdHint is malformed.", errors={"cloudIdHint": ["Not a cloud id."]})
        elif site_cloud_id and site_cloud_id != cloud_id_hint:
            raise Forbidden("cloudIdHint contradicts the token's cloud id.", code="tenant_mismatch")
        else:
            site_cloud_id = cloud_id_hint
    if site_cloud_id and installation.site_cloud_id != site_cloud_id:
        refusal = None if identity.site_cloud_id else "cloudIdHint contradicts the installation's cloud id."
        changes.append((INSTALLATIONS.c.site_cloud_id, site_cloud_id, refusal))
    if site_url_hint:
        site_url = normalise_site_url(site_url_hint)
        if installation.site_url != site_url:
            changes.append((INSTALLATIONS.c.site_url, site_url, "siteUrlHint contradicts the installation's site."))
    return changes


def _license(identity) -> dict:
    return {
        "license_active": identity.license_active,
        "capability_set": identity.capability_set,
        "dev_mode": identity.dev_mode,
        "environment_type": identity.environment_type,
        "activation_source": "forge-license" if identity.license_active else "forge-token",
    }


def _fill_once(installation_pk: int, column, value: str, refusal: str, moment) -> None:
    """Set a column that is still empty, or refuse: one conditional UPDATE, so parallel first calls with
    different hints have one winner (the loser's UPDATE waits for the winner's row lock, then matches nothing).
    """
    filled = db.session.execute(
        update(INSTALLATIONS)
        .where(INSTALLATIONS.c.id == installation_pk, (column.is_(None)) | (column == value))
        .values({column.name: value, "updated_at": moment})
    ).rowcount
    if filled != 1:
        raise Forbidden(refusal, code="tenant_mismatch")


def _provision(identity) -> InstallationSnapshot:
    """Insert the token's installation and commit it at once, apart from the request's transaction: a tenant
    exists from its first valid token on, whatever the request's outcome, so that the security event of a
    refusal (committed on its own, audit.record) can name it; a parallel first call that won the insert is
    re-read. It runs first in the request, so the rollback of a lost insert discards nothing of the request.

    No SAVEPOINT here: under pysqlite a savepoint opened outside a transaction commits on release.
    """
    try:
        installation = create(identity.installation_id, site_cloud_id=identity.site_cloud_id,
                              credits=current_app.config["SEECODES_STARTER_CREDITS"])
        db.session.commit()
        return InstallationSnapshot.of(installation)
    except IntegrityError:
        db.session.rollback()
        installation = find(identity.installation_id)
        if installation is None:
            raise
        return installation


def find(installation_id: str) -> InstallationSnapshot | None:
    """The installation of an ARI, as a snapshot (one SELECT of its columns)."""
    row = db.session.execute(
        select(*COLUMNS).where(INSTALLATIONS.c.installation_id == installation_id)
    ).one_or_none()
    return None if row is None else InstallationSnapshot(*row)


def find_or_provision(identity) -> InstallationSnapshot:
    """The token's installation, inserted (and committed: see _provision) on first sight."""
    installation = find(identity.installation_id)
    return installation if installation is not None else _provision(identity)


def resolve(identity, cloud_id_hint=None, site_url_hint=None) -> InstallationSnapshot:
    """The token's installation, provisioned on its first valid token, as accept() sees it; hints never switch
    tenant."""
    return accept(find_or_provision(identity), identity, cloud_id_hint, site_url_hint)


def accept(installation: InstallationSnapshot, identity, cloud_id_hint=None,
           site_url_hint=None) -> InstallationSnapshot:
    """The installation as the request sees it: what the token and its consistent hints teach is staged in the
    request's transaction (it commits with the route's work, and a refused or failed request keeps none of it),
    and the answer has the new values. Refuses a hint that contradicts the tenant and an installation that is
    not active. `installation`: as read by the request-key statement or by find()."""
    learned = learn(installation, identity, cloud_id_hint, site_url_hint)
    if learned:
        installation = replace(installation, **learned)
    require_active(installation)
    return installation


def learn(installation, identity, cloud_id_hint=None, site_url_hint=None) -> dict:
    """Stage what the token (license, environment) and its consistent hints teach, in the caller's transaction
    (one UPDATE for what the token states, one conditional UPDATE per hint); refuses a hint that names another
    tenant. Answers the changed columns by name (with updated_at), empty when nothing changed."""
    changes = _changes(installation, identity, cloud_id_hint, site_url_hint)
    if not changes:
        return {}
    moment = clock.now()
    stated = {column.name: value for column, value, refusal in changes if refusal is None}
    if stated:
        db.session.execute(update(INSTALLATIONS).where(INSTALLATIONS.c.id == installation.id)
                           .values(**stated, updated_at=moment))
    for column, value, refusal in changes:
        if refusal is not None:
            _fill_once(installation.id, column, value, refusal, moment)
    return {**{column.name: value for column, value, _refusal in changes}, "updated_at": moment}


def grant_credits(installation_pk: int, credits: int) -> int:
    db.session.execute(
        update(Installation).where(Installation.id == installation_pk).values(credits=Installation.credits + credits)
    )
    return db.session.get(Installation, installation_pk).credits


def find_for_cli(cloud_id: str) -> Installation:
    installation = db.session.execute(
        select(Installation).where(
            (Installation.installation_id == cloud_id) | (Installation.site_cloud_id == cloud_id)
        )
    ).scalars().first()
    if installation is None:
        raise NotFound(f"No installation with cloud id {cloud_id!r}.")
    return installation
