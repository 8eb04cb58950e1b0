"""``ecr-autodeploy approvals``: the deployments waiting for a person, with the command that approves each."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, installation_options, pass_app
from ecr_autodeploy.cli.output import echo_json, table
from ecr_autodeploy.core.approvals import approval_command
from ecr_autodeploy.core.timefmt import iso


def command_of(app: AppContext, verb: str, approval: str) -> str:
    """Return the exact command that approves (or rejects) an approval of this installation."""
    return approval_command(verb, approval, app.name, app.clients().region)


@click.command()
@installation_options
@pass_app
def approvals(app: AppContext) -> None:
    """List the pending deployments waiting for approval (rules with approval: required), oldest first."""
    from ecr_autodeploy.engine.approvals import Approvals, approval_data

    pending = Approvals(app.gate_book()).open()
    if app.as_json:
        echo_json({"approvals": [{**approval_data(a), "approve": command_of(app, "approve", a.id)} for a in pending]})
        return
    if not pending:
        click.echo("no deployment is waiting for approval", err=True)
        return
    rows = [
        (a.id, a.image_text, ", ".join(a.targets), f"rules[{a.rule}]", iso(a.requested_at), iso(a.deadline))
        for a in pending
    ]
    click.echo(table(("ID", "IMAGE", "TARGETS", "RULE", "REQUESTED", "EXPIRES"), rows, keep=(0,)))
    click.echo(
        f"approve with: {command_of(app, 'approve', 'ID')}; reject with: {command_of(app, 'reject', 'ID')}", err=True
    )
