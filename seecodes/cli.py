"""Flask CLI: installations, credentials (incident response), model catalog, Forge dev keys and tokens, run repair,
retention, doctor."""
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy.exc import IntegrityError

from . import logs
from .extensions import db

installations_cli = AppGroup("installations", help="Manage Jira installations.")
models_cli = AppGroup("models", help="Manage the model catalog.")
forge_cli = AppGroup("forge", help="Local Forge signing keys and tokens for offline development.")
runs_cli = AppGroup("runs", help="Maintain AI runs.")
maintenance_cli = AppGroup("maintenance", help="Housekeeping: retention of spent credentials, old events and run data.")
from .runs.cli import reap as _runs_reap  # noqa: E402
from .installations import cli as _incidents  # noqa: E402
runs_cli.add_command(_runs_reap)
for _command in (_incidents.installations_show, _incidents.installations_uninstall,
                 _incidents.installations_reactivate):
    installations_cli.add_command(_command)


@installations_cli.command("create")
@click.option("--installation-id", required=True, help="ari:cloud:ecosystem::installation/<uuid>")
@click.option("--cloud-id", required=True, help="The Jira site's cloud id")
@click.option("--site-url", default=None)
@click.option("--credits", default=0, type=click.IntRange(min=0))
def installations_create(installation_id, cloud_id, site_url, credits):
    """Create an installation ahead of its first Forge call."""
    from .installations import service
    from .forge.tokens import INSTALLATION_ARI

    if not INSTALLATION_ARI.fullmatch(installation_id):
        raise click.BadParameter("must look like ari:cloud:ecosystem::installation/<uuid>", param_hint="--installation-id")
    try:
        site_url = service.normalise_site_url(site_url) if site_url else None
        installation = service.create(installation_id, site_cloud_id=cloud_id, site_url=site_url, credits=credits,
                                      activation_source="cli")
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise click.ClickException(f"installation {installation_id} already exists")
    except Exception as error:  # DomainError from URL validation
        raise click.ClickException(str(error))
    click.echo(f"created {installation.installation_id} (cloud id {cloud_id}) with {credits} credits")


@installations_cli.command("grant-credits")
@click.option("--cloud-id", required=True, help="Installation ARI or Jira site cloud id")
@click.option("--credits", required=True, type=click.IntRange(min=1))
def installations_grant_credits(cloud_id, credits):
    """Add credits to an installation."""
    from .errors import DomainError
    from .installations import service

    try:
        installation = service.find_for_cli(cloud_id)
    except DomainError as error:
        raise click.ClickException(error.detail)
    balance = service.grant_credits(installation.id, credits)
    db.session.commit()
    click.echo(f"granted {credits} credits to {installation.installation_id}; balance {balance}")


@models_cli.command("seed")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Catalog file (default: SEECODES_CATALOG_FILE, else the built-in catalog)")
@click.option("--update", is_flag=True, help="Also overwrite existing entries with the file's values")
def models_seed(path, update):
    """Add the catalog's missing models (idempotent); existing entries are kept unless --update."""
    from .catalog import service

    source = service.catalog_file(path)
    if not source.is_file():
        raise click.ClickException(f"catalog file {source} does not exist (SEECODES_CATALOG_FILE?)")
    try:
        created, updated = service.seed(path, update=update)
    except (ValueError, KeyError, TypeError) as error:
        raise click.ClickException(f"invalid catalog: {error}")
    logs.echo(f"catalog seeded from {source}: {created} created, {updated} updated"
              + ("" if update else " (existing entries kept; --update overwrites them)"), "seecodes.catalog")
    service.warn_if_offline_in_production(current_app)


@maintenance_cli.command("prune")
def maintenance_prune():
    """Remove spent credentials and security events past their retention period, expire unstarted runs and
    remove settled runs' data past SEECODES_RUN_DATA_RETENTION_DAYS."""
    from .retention import prune

    outcome = prune()
    click.echo(f"pruned {outcome.total} rows: {outcome}")


@click.command("doctor")
@with_appcontext
@click.option("--online", is_flag=True, help="Also send one request to every AI provider of the catalog")
def doctor_command(online):
    """Check this configuration end to end; exit 1 when a check fails."""
    from . import doctor

    results = doctor.run_checks(current_app, online=online)
    click.echo(doctor.table(results))
    if any(result.status == doctor.FAIL for result in results):
        raise SystemExit(1)


@forge_cli.command("dev-keys")
@click.option("--force", is_flag=True, help="Replace an existing dev key")
def forge_dev_keys(force):
    """Create instance/forge-dev-key.pem and instance/forge-dev-jwks.json."""
    from .forge import dev

    key_path, jwks_path = dev.write_dev_keys(current_app.instance_path, force=force)
    click.echo(f"private key: {key_path}")
    click.echo(f"JWKS:        {jwks_path}")
    click.echo(f"serve with:  FORGE_JWKS_URL={jwks_path} make run")


@forge_cli.command("dev-token")
@click.option("--installation-id", required=True)
@click.option("--cloud-id", default=None, help="Jira site cloud id (context.cloudId and apiBaseUrl)")
@click.option("--principal", default=None, help="Atlassian account id of the user")
@click.option("--ttl", default=25, type=click.IntRange(min=1, max=3600), help="Lifetime in seconds")
@click.option("--aud", default=None, help="Audience (default FORGE_APP_ID)")
@click.option("--environment", default="DEVELOPMENT", help="app.environment.type")
@click.option("--license-active/--no-license", default=None)
@click.option("--capability-set", default=None)
@click.option("--no-context", is_flag=True, help="Shape it like a Forge backend function's token")
@click.option("--lifecycle", is_flag=True,
              help="Shape it like the token of a lifecycle event Forge delivers (no context, no principal)")
def forge_dev_token(installation_id, cloud_id, principal, ttl, aud, environment, license_active, capability_set,
                    no_context, lifecycle):
    """Print a token signed with the local dev key, shaped like a Forge invocation token."""
    from .forge import dev

    try:
        key, kid = dev.load_dev_key(current_app.instance_path)
    except FileNotFoundError:
        raise click.ClickException("no dev key yet: run `flask --app wsgi forge dev-keys` first")
    if lifecycle and principal:
        raise click.UsageError("a lifecycle event's token has no principal: drop --principal")
    claims = (dev.lifecycle_claims if lifecycle else dev.forge_claims)(
        aud or current_app.config["FORGE_APP_ID"], installation_id, cloud_id, principal=principal, ttl=ttl,
        environment=environment, license_active=license_active, capability_set=capability_set,
        with_context=not (no_context or lifecycle))
    click.echo(dev.sign(claims, key, kid))


def register(app):
    for group in (installations_cli, _incidents.credentials_cli, models_cli, forge_cli, runs_cli, maintenance_cli,
                  doctor_command):
        app.cli.add_command(group)
