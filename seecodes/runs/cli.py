"""`flask runs reap`: fail and refund (or re-queue) runs whose job died, timed out or vanished."""
import click
from flask.cli import with_appcontext


@click.command("reap")
@with_appcontext
def reap():
    """Repair runs whose job died, timed out or vanished (see docs/runs.md)."""
    from .reaper import reap as reap_runs

    outcome = reap_runs()
    for run_id in outcome.failed:
        click.echo(f"failed {run_id}")
    for run_id in outcome.requeued:
        click.echo(f"re-queued {run_id}")
    click.echo(f"reaped: {outcome}")
