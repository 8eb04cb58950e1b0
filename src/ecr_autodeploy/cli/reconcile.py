"""``ecr-autodeploy reconcile``: deploy (or, with --dry-run, list) what the services should run and do not."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, config_option, json_option, pass_app
from ecr_autodeploy.cli.output import show_result


@click.command()
@config_option
@click.option("--dry-run", is_flag=True, help="List the drift; change nothing.")
@json_option
@pass_app
def reconcile(app: AppContext, config_path: str | None, dry_run: bool, as_json: bool) -> None:
    """Deploy the newest image the rules allow to every mapped service that does not run it."""
    reconciler = app.app(app.config(config_path), dry_run=dry_run).reconciler
    show_result(reconciler.run(app.clients().region), as_json)
