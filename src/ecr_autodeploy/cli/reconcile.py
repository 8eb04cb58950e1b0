"""``ecr-autodeploy reconcile``: deploy (or, with --dry-run, list) what the services should run and do not."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, config_option, installation_options, pass_app
from ecr_autodeploy.cli.output import show_result
from ecr_autodeploy.cli.status import role_option, with_role


@click.command()
@config_option
@click.option("--dry-run", is_flag=True, help="List the drift; change nothing.")
@role_option
@installation_options
@pass_app
def reconcile(app: AppContext, config_path: str | None, dry_run: bool, assume_role_arn: str | None) -> None:
    """Deploy the newest image the rules allow to every mapped service that does not run it."""
    config = with_role(app.config(config_path), assume_role_arn)
    reconciler = app.app(config, dry_run=dry_run).reconciler
    show_result(reconciler.run(app.clients().region), app.as_json)
