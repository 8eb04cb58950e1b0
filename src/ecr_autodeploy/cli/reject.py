"""``ecr-autodeploy reject ID``: close a pending approval without deploying; the image is not proposed again."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, installation_options, pass_app
from ecr_autodeploy.cli.output import echo_json
from ecr_autodeploy.cli.plan import caller


@click.command()
@click.argument("approval_id", metavar="ID")
@click.option("--reason", help="Why, recorded with the decision (default: none).")
@click.option("--dry-run", is_flag=True, help="Say what would be rejected; change nothing.")
@installation_options
@pass_app
def reject(app: AppContext, approval_id: str, reason: str | None, dry_run: bool) -> None:
    """Reject the pending deployment ID: nothing is deployed; exit 1 if it is not pending (says why)."""
    from ecr_autodeploy.engine.approvals import Approvals, approval_data

    desk = Approvals(app.gate_book())
    _, arn = caller(app)
    approval = desk.check(approval_id, arn, "reject") if dry_run else desk.reject(approval_id, arn, reason)
    if app.as_json:
        echo_json({"approval": approval_data(approval), "dry_run": dry_run})
        return
    done = "would reject" if dry_run else "rejected"
    click.echo(
        f"{done} {approval.id} ({approval.image_text}, to {', '.join(approval.targets)}) as {arn or 'the caller'}"
    )
