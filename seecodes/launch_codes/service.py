"""Minting and exchanging launch codes.

The exchange is one conditional UPDATE that matches only an unused, unexpired code whose project
and task are the ones presented, so a mismatch consumes nothing and parallel exchanges have one
winner. A second exchange of a used code revokes the permit the first one minted (RFC 9700 4.2.4).
"""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from flask import current_app
from sqlalchemy import select, update

from .. import clock, ids
from ..audit import service as audit
from ..errors import Forbidden, Unauthorized
from ..extensions import db
from ..installations import service as installations
from ..installations.models import Installation
from ..installations.snapshot import InstallationSnapshot
from ..permits import service as permits
from .models import LaunchCode

PREFIX = "sc_launch_"
CODE_PATTERN = re.compile(r"^sc_launch_[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class MintedCode:
    code: str
    expires_at: datetime
    vscode_url: str
    https_url: str


def launcher_urls(project_id: str, task_id: str, code: str) -> tuple[str, str]:
    extension = current_app.config["SEECODES_VSCODE_EXTENSION_ID"]
    vscode = (
        f"vscode://{extension}/project/{quote(project_id, safe='')}/task/{quote(task_id, safe='')}"
        f"?{urlencode({'code': code})}"
    )
    https = f"{current_app.config['SEECODES_PUBLIC_BASE_URL']}/v1/launch?" + urlencode(
        {"p": project_id, "t": task_id, "c": code}
    )
    return vscode, https


def mint(installation: InstallationSnapshot, project_id: str, task_id: str, user_account_id: str | None,
         expiration_days: int) -> MintedCode:
    """Stage a new code in the caller's transaction."""
    code = ids.new_secret(PREFIX)  # 256 random bits
    moment = clock.now()
    expires_at = moment + timedelta(days=expiration_days)
    db.session.add(
        LaunchCode(
            code_hash=ids.hash_secret(code),
            installation_pk=installation.id,
            project_id=project_id,
            task_id=task_id,
            user_account_id=user_account_id,
            created_at=moment,
            expires_at=expires_at,
        )
    )
    vscode_url, https_url = launcher_urls(project_id, task_id, code)
    return MintedCode(code, expires_at, vscode_url, https_url)


def exchange(code: str, project_id: str, task_id: str):
    """Consume the code and stage the permit minted from it in the caller's transaction (the route's, which
    guards.transactional commits), or refuse without consuming anything."""
    if not CODE_PATTERN.fullmatch(code or ""):
        raise Unauthorized("The launch code is malformed.", code="launch_code_invalid")
    code_hash = ids.hash_secret(code)
    moment = clock.now()
    permit_id = ids.new_id("pmt_")
    claimed = db.session.execute(
        update(LaunchCode)
        .where(
            LaunchCode.code_hash == code_hash,
            LaunchCode.consumed_at.is_(None),
            LaunchCode.revoked_at.is_(None),
            LaunchCode.expires_at > moment,
            LaunchCode.project_id == project_id,
            LaunchCode.task_id == task_id,
        )
        .values(consumed_at=moment, permit_id=permit_id)
        .returning(LaunchCode.installation_pk, LaunchCode.user_account_id)
    ).one_or_none()
    if claimed is None:
        _refuse(code_hash, project_id, task_id, moment)
    installation = db.session.get(Installation, claimed.installation_pk)
    if installation.status != installations.ACTIVE:
        db.session.rollback()
        _refuse_inactive(installation)
    issued = permits.mint(installation, project_id, task_id, claimed.user_account_id, "launch_code", permit_id)
    return installation, issued


def _refuse_inactive(installation: Installation):
    if installation.status == installations.UNINSTALLED:
        raise installations.uninstalled()
    raise Unauthorized("The installation of this launch code is not active.", code="installation_inactive")


def revoke_matching(installation_pk: int, moment: datetime, *, user_account_id: str | None = None,
                    project_id: str | None = None, task_id: str | None = None) -> int:
    """Revoke the installation's unused, unexpired launch codes (all, one user's or one task's) with one UPDATE
    in the caller's transaction; answers how many. The exchange's own UPDATE then matches none of them."""
    conditions = [LaunchCode.installation_pk == installation_pk, LaunchCode.consumed_at.is_(None),
                  LaunchCode.revoked_at.is_(None), LaunchCode.expires_at > moment]
    for column, value in ((LaunchCode.user_account_id, user_account_id), (LaunchCode.project_id, project_id),
                          (LaunchCode.task_id, task_id)):
        if value is not None:
            conditions.append(column == value)
    return db.session.execute(
        update(LaunchCode).where(*conditions).values(revoked_at=moment)
        .execution_options(synchronize_session=False)
    ).rowcount


def _refuse(code_hash: str, project_id: str, task_id: str, moment: datetime):
    """Say why the code matched nothing. A replay revokes the permit of the first exchange and commits the
    revocation at once, apart from the request (whose refusal rolls back): the permit must stay revoked
    (RFC 9700 4.2.4), and the security event that records the replay is committed on its own after it."""
    db.session.rollback()
    row = db.session.execute(select(LaunchCode).where(LaunchCode.code_hash == code_hash)).scalar_one_or_none()
    if row is None:
        raise Unauthorized("Unknown launch code.", code="launch_code_invalid")
    installation = db.session.get(Installation, row.installation_pk)
    if installation.status == installations.UNINSTALLED:  # its codes are revoked too; say why
        raise installations.uninstalled()
    if row.revoked_at is not None:
        audit.record("launch_code_revoked_used", row.installation_pk, launch_code_id=row.id)
        raise Unauthorized("This launch code was revoked; create a new link in Jira.", code="launch_code_revoked")
    if row.consumed_at is not None:
        if row.permit_id:
            permits.revoke(row.permit_id)
            db.session.commit()
        audit.record("launch_code_replayed", row.installation_pk, launch_code_id=row.id, revoked_permit=row.permit_id)
        raise Unauthorized("This launch code was already used; the permit minted from it is revoked.",
                           code="launch_code_replayed")
    if row.expires_at <= moment:
        raise Unauthorized("This launch code has expired.", code="launch_code_expired")
    audit.record("launch_code_binding_mismatch", row.installation_pk, launch_code_id=row.id)
    raise Forbidden("The launch code is bound to another project or task.", code="launch_code_binding_mismatch")
