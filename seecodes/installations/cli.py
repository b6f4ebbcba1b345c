"""Incident response in the Flask CLI: `credentials revoke`, `installations show | uninstall | reactivate`."""
import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db
from ..permits.models import Permit
from . import lifecycle, report, service

credentials_cli = AppGroup("credentials", help="Incident response: revoke launch codes, permits and request keys.")


def _installation(cloud_id: str):
    try:
        return service.find_for_cli(cloud_id)
    except DomainError as error:
        raise click.ClickException(error.detail)


def _task(value: str | None) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    project_id, slash, task_id = value.partition("/")
    if not slash or not project_id or not task_id:
        raise click.BadParameter("must be PROJECT/TASK, e.g. AUTH/AUTH-128", param_hint="--task")
    return project_id, task_id


@credentials_cli.command("revoke")
@click.option("--cloud-id", default=None, help="The installation (its ARI or the Jira site's cloud id)")
@click.option("--account-id", default=None, help="Only this user's credentials (Atlassian account id)")
@click.option("--task", default=None, metavar="PROJECT/TASK", help="Only this task's launch codes and permits")
@click.option("--permit-id", default=None, help="Only this permit (pmt_…, as the permit's row and logs name it)")
@click.option("--reason", default=None, help="Recorded with the security event")
def credentials_revoke(cloud_id, account_id, task, permit_id, reason):
    """Revoke live credentials at once: every one of an installation, one user's, one task's, or one permit.

    Launch codes and permits in scope, and the request-key chains of the installation or user (chains belong to
    no task), stop working when this command returns; a security event records what was revoked.
    """
    if account_id and task:
        raise click.UsageError("--account-id and --task are separate scopes: give one of them")
    if permit_id is None and cloud_id is None:
        raise click.UsageError("give --cloud-id (with --account-id or --task to narrow it) or --permit-id")
    project_id, task_id = _task(task)
    if permit_id is not None:
        if account_id or task:
            raise click.UsageError("--permit-id names one permit: no --account-id or --task with it")
        installation_pk = db.session.scalar(select(Permit.installation_pk).where(Permit.id == permit_id))
        if installation_pk is None:
            raise click.ClickException(f"no permit {permit_id!r}")
        installation = db.session.get(service.Installation, installation_pk)
        if cloud_id is not None and _installation(cloud_id).id != installation_pk:
            raise click.ClickException(f"permit {permit_id} belongs to {installation.installation_id}, not {cloud_id}")
    else:
        installation = _installation(cloud_id)
    revoked = lifecycle.revoke_recorded(installation.id, "cli", user_account_id=account_id, project_id=project_id,
                                        task_id=task_id, permit_id=permit_id, reason=reason)
    db.session.commit()
    scope = (f"permit {permit_id}" if permit_id else f"user {account_id}" if account_id
             else f"task {task}" if task else "every user and task")
    click.echo(f"revoked for {installation.installation_id} ({scope}): {revoked.launch_codes} launch code(s), "
               f"{revoked.permits} permit(s), {revoked.request_keys} request-key chain(s); security event recorded")


@click.command("show")
@with_appcontext
@click.argument("cloud_id")
@click.option("--events", default=10, type=click.IntRange(min=0, max=1000), help="How many recent security events")
def installations_show(cloud_id, events):
    """Print an installation's status, credits, live credentials by kind, last activity and recent events."""
    click.echo(report.text(report.report(_installation(cloud_id), events)))


@click.command("uninstall")
@with_appcontext
@click.argument("cloud_id")
def installations_uninstall(cloud_id):
    """Do what Forge's uninstalled event does, for a site whose event never arrived: status uninstalled, every
    live credential revoked, runs in flight failed and refunded."""
    outcome = lifecycle.uninstall(_installation(cloud_id), actor="cli")
    db.session.commit()
    revoked = outcome.revoked
    click.echo(f"{outcome.installation_id}: {'uninstalled' if outcome.changed else 'already uninstalled'}; "
               f"revoked {revoked.launch_codes} launch code(s), {revoked.permits} permit(s), "
               f"{revoked.request_keys} request-key chain(s); {outcome.settled_runs} run(s) failed and refunded")


@click.command("reactivate")
@with_appcontext
@click.argument("cloud_id")
def installations_reactivate(cloud_id):
    """Reactivate an uninstalled installation whose installed event never arrived (what that event does)."""
    installation = _installation(cloud_id)
    changed = lifecycle.reactivate(installation, actor="cli")
    db.session.commit()
    click.echo(f"{installation.installation_id}: {'reactivated' if changed else 'not uninstalled; unchanged'}")
