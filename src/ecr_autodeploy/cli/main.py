"""The ``ecr-autodeploy`` command: global options, the verbs, and the one place errors become exit codes.

Project errors print ``Error: <message>`` on stderr and exit 1; usage errors exit 2 (click's convention).
"""

from __future__ import annotations

from typing import Any

import click

from ecr_autodeploy import __version__
from ecr_autodeploy.cli import (
    continue_,
    demo,
    deploy,
    install,
    package,
    plan,
    policy,
    reconcile,
    replay,
    status,
    template,
    validate,
)
from ecr_autodeploy.cli.context import AppContext
from ecr_autodeploy.cli.output import show_failure
from ecr_autodeploy.core.errors import AutodeployError, DeployError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeployError as err:
            # Every target's outcome first (the ones that worked too), then the error line.
            show_failure(err, ctx.find_object(AppContext) or AppContext())
            raise click.ClickException(str(err)) from err
        except AutodeployError as err:
            raise click.ClickException(str(err)) from err


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="ecr-autodeploy")
@click.option("--region", envvar="AWS_REGION", help="AWS region (default: AWS_REGION or the profile's).")
@click.option("--profile", envvar="AWS_PROFILE", help="AWS named profile.")
@click.option("--endpoint-url", envvar="AWS_ENDPOINT_URL", help="Send every AWS call here (an emulator).")
@click.pass_context
def cli(ctx: click.Context, region: str | None, profile: str | None, endpoint_url: str | None) -> None:
    """Deploy to Amazon ECS the moment an image lands in Amazon ECR."""
    ctx.obj = AppContext(region=region, profile=profile, endpoint_url=endpoint_url)


for _command in (
    replay.replay,
    plan.plan,
    deploy.deploy,
    continue_.continue_command,
    validate.validate,
    demo.demo,
    install.install,
    install.uninstall,
    policy.policy,
    template.template_command,
    package.package,
    reconcile.reconcile,
    status.status,
):
    cli.add_command(_command)


def main() -> None:
    """Run the CLI (the console script)."""
    cli(prog_name="ecr-autodeploy")
