"""Resolving the tenant of a verified Forge identity, provisioning it on first sight, and credits."""
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value

from .. import ids
from ..errors import Forbidden, Invalid, NotFound
from ..extensions import db
from .models import Installation

INSTALLATION_ARI = re.compile(r"^ari:cloud:ecosystem::installation/[A-Za-z0-9-]{1,64}$")
SITE_CLOUD_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
ACTIVE, UNINSTALLED = "active", "uninstalled"


def uninstalled() -> Forbidden:
    """The one refusal of every credential of an uninstalled installation (Jira routes, permits, launch codes):
    403, since the credential itself may be valid; only Forge's installed event reactivates the installation."""
    return Forbidden("The app was uninstalled from this Jira site; reinstall it to use SeeCodes again.",
                     code="installation_uninstalled", installationStatus=UNINSTALLED)


def require_active(installation) -> None:
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


def _hint_changes(installation, identity, cloud_id_hint, site_url_hint) -> list[tuple]:
    """What the token and its hints would change on the installation, as (column, value, refusal) rows (refusal
    None when the token itself is authoritative). Refuses a hint that names another tenant. Writes nothing."""
    changes = []
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
        changes.append((Installation.site_cloud_id, site_cloud_id, refusal))
    if site_url_hint:
        site_url = normalise_site_url(site_url_hint)
        if installation.site_url != site_url:
            changes.append((Installation.site_url, site_url, "siteUrlHint contradicts the installation's site."))
    return changes


def _apply_hints(installation: Installation, identity, cloud_id_hint, site_url_hint) -> bool:
    """Hints fill what the token lacks; a hint that names another tenant is refused. Returns True if changed."""
    changes = _hint_changes(installation, identity, cloud_id_hint, site_url_hint)
    for column, value, refusal in changes:
        if refusal is None:
            setattr(installation, column.key, value)  # the token itself is authoritative
        else:
            _fill_once(installation, column, value, refusal)
    return bool(changes)


def _fill_once(installation: Installation, column, value: str, refusal: str) -> None:
    """Set a column that is still empty, or refuse: one conditional UPDATE, so parallel first calls with
    different hints have one winner (the loser's UPDATE waits for the winner's row lock, then matches nothing).
    """
    filled = db.session.execute(
        update(Installation)
        .where(Installation.id == installation.id, (column.is_(None)) | (column == value))
        .values({column.key: value})
        .execution_options(synchronize_session=False)
    ).rowcount
    if filled != 1:
        raise Forbidden(refusal, code="tenant_mismatch")
    set_committed_value(installation, column.key, value)


def _apply_license(installation: Installation, identity) -> bool:
    wanted = {
        "license_active": identity.license_active,
        "capability_set": identity.capability_set,
        "dev_mode": identity.dev_mode,
        "environment_type": identity.environment_type,
        "activation_source": "forge-license" if identity.license_active else "forge-token",
    }
    changed = False
    for name, value in wanted.items():
        if getattr(installation, name) != value:
            setattr(installation, name, value)
            changed = True
    return changed


def _provision(identity) -> Installation:
    """Insert and commit the token's installation; a parallel first call that won the insert is re-read.

    No SAVEPOINT here: under pysqlite a savepoint opened outside a transaction commits on release.
    """
    try:
        installation = create(identity.installation_id, site_cloud_id=identity.site_cloud_id,
                              credits=current_app.config["SEECODES_STARTER_CREDITS"])
        db.session.commit()
        return installation
    except IntegrityError:
        db.session.rollback()
        installation = get_by_installation_id(identity.installation_id)
        if installation is None:
            raise
        return installation


def resolve(identity, cloud_id_hint=None, site_url_hint=None) -> Installation:
    """The token's installation, provisioned on its first valid token; hints never switch tenant.

    What a valid token (and its consistent hints) teaches about the tenant is committed at once, apart
    from the route's own transaction: a refused route still leaves the tenant known, so that security
    events recorded for the refusal can name it.
    """
    installation = find_or_provision(identity)
    learn(installation, identity, cloud_id_hint, site_url_hint)
    require_active(installation)
    return installation


def find_or_provision(identity) -> Installation:
    """The token's installation, inserted (and committed) on first sight."""
    installation = get_by_installation_id(identity.installation_id)
    return installation if installation is not None else _provision(identity)


def learn(installation: Installation, identity, cloud_id_hint=None, site_url_hint=None) -> bool:
    """Record what the token (license, environment) and its consistent hints teach, committed at once; refuses a
    hint that names another tenant. Answers whether anything changed."""
    changed = _apply_license(installation, identity)
    changed = _apply_hints(installation, identity, cloud_id_hint, site_url_hint) or changed
    if changed:
        db.session.commit()
    return changed


def accept_row(row, identity, cloud_id_hint=None, site_url_hint=None):
    """The installation as another statement read it (the request-key statement answers the whole row), if
    the token and hints teach nothing new about it; None when they do, and resolve() must record that first.
    Refuses exactly as resolve() does: a contradicting hint, an inactive installation."""
    installation = SimpleNamespace(**row._mapping)
    if _apply_license(installation, identity) or _hint_changes(installation, identity, cloud_id_hint, site_url_hint):
        return None
    require_active(installation)
    return installation


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
