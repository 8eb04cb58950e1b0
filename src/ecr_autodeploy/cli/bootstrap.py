"""``ecr-autodeploy bootstrap``: an administrator writes the permissions boundary installs stay within (once,
and again when the rules reach new services)."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, config_option, pass_app
from ecr_autodeploy.cli.install import name_option, warn
from ecr_autodeploy.cli.output import echo_json
from ecr_autodeploy.core.installation import InstallOptions


@click.command()
@config_option
@name_option
@click.option("--dry-run", is_flag=True, help="Print every call bootstrap would make, as JSON; change nothing.")
@pass_app
def bootstrap(app: AppContext, config_path: str | None, name: str, dry_run: bool) -> None:
    """Create or update the permissions boundary of the function's role (run by an administrator).

    The boundary holds the execution policy computed from the rules; whoever holds only `policy --kind
    installer` can then run install, and the function can never do more than this boundary allows.
    """
    from ecr_autodeploy.aws.bootstrap import bootstrap as run_bootstrap

    config = app.config(config_path)
    as_json = app.as_json
    show = None if (as_json or dry_run) else (lambda done: click.echo(done.describe()))
    report = run_bootstrap(app.clients(), config, InstallOptions(name=name), dry_run=dry_run, on_step=show)
    warn(report.notes)
    if as_json or dry_run:
        echo_json(report.to_dict())
        return
    click.echo(
        f"boundary {report.boundary_arn} is in place for role {report.role_arn}; a platform engineer with "
        f"`ecr-autodeploy policy --kind installer` can now run `ecr-autodeploy install`"
    )
