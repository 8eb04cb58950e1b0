"""The ``ecr-autodeploy`` command: global options, the verbs, and the one place errors become exit codes.

Project errors print ``Error: <message>`` on stderr and exit 1; usage errors exit 2 (click's convention);
Ctrl-C exits 130 quietly. Global options work before or after the verb (cli/context.py).
"""

from __future__ import annotations

import sys
from typing import Any

import click
from botocore.exceptions import BotoCoreError

from ecr_autodeploy import __version__
from ecr_autodeploy.cli import (
    approvals,
    approve,
    bootstrap,
    continue_,
    demo,
    deploy,
    diff,
    dlq,
    history,
    install,
    package,
    pause,
    plan,
    policy,
    reconcile,
    reject,
    replay,
    resume,
    rollback,
    status,
    template,
    validate,
    watch,
)
from ecr_autodeploy.cli.context import AppContext, global_params
from ecr_autodeploy.cli.errors import INTERRUPTED, message
from ecr_autodeploy.cli.output import show_failure
from ecr_autodeploy.core.errors import AutodeployError, DeployError


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DeployError as err:
            # Every target's outcome first (the ones that worked too), then the error line.
            show_failure(err.outcomes, ctx.ensure_object(AppContext).as_json)
            raise click.ClickException(str(err)) from err
        except (AutodeployError, BotoCoreError) as err:
            raise click.ClickException(message(err)) from err
        except KeyboardInterrupt:
            raise click.exceptions.Exit(INTERRUPTED) from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="ecr-autodeploy")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Deploy to Amazon ECS the moment an image lands in Amazon ECR."""
    from ecr_autodeploy.cli.logs import configure

    app = ctx.ensure_object(AppContext)
    if not app.debug:
        configure(False)


cli.params.extend(global_params(envvars=True))

for _command in (
    replay.replay,
    plan.plan,
    diff.diff,
    deploy.deploy,
    watch.watch,
    rollback.rollback,
    history.history,
    continue_.continue_command,
    approvals.approvals,
    approve.approve,
    reject.reject,
    pause.pause,
    resume.resume,
    validate.validate,
    demo.demo,
    bootstrap.bootstrap,
    install.install,
    install.uninstall,
    policy.policy,
    template.template_command,
    package.package,
    reconcile.reconcile,
    status.status,
    dlq.dlq,
):
    _command.params.extend(global_params())
    if isinstance(_command, click.Group):
        for _sub in _command.commands.values():
            _sub.params.extend(global_params())
    cli.add_command(_command)


def main() -> None:
    """Run the CLI (the console script); Ctrl-C anywhere exits 130 without a traceback."""
    try:
        cli.main(prog_name="ecr-autodeploy")
    except KeyboardInterrupt:
        sys.exit(INTERRUPTED)
