"""``ecr-autodeploy approve ID``: give a pending approval and deploy it now, through the same engine as events.

Every check is judged again at this moment (the service's lock, the claim, the image's order, the pauses, the
rule's other gates); an approval a newer image superseded, that was decided, or that expired, is refused and
nothing is deployed. Who approved (the caller's ARN, from STS GetCallerIdentity) is recorded with the approval
and with the deployment.
"""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, installation_options, pass_app
from ecr_autodeploy.cli.output import echo_json, outcomes_table, result_data, show_notes
from ecr_autodeploy.cli.plan import caller


@click.command()
@click.argument("approval_id", metavar="ID")
@click.option("--dry-run", is_flag=True, help="Say what approving would deploy now; approve and change nothing.")
@installation_options
@pass_app
def approve(app: AppContext, approval_id: str, dry_run: bool) -> None:
    """Approve the pending deployment ID and deploy it; exit 1 if it cannot be approved (says why)."""
    from ecr_autodeploy.aws.pause_book import Given
    from ecr_autodeploy.engine.approvals import Approvals, approval_data

    book = app.gate_book()
    desk = Approvals(book)
    _, arn = caller(app)
    if dry_run:
        given = Given(app.clients(), book.table, approval_id)
        approval, result = desk.preview(approval_id, arn, lambda c: app.deployer(c, dry_run=True, gate_store=given))
    else:
        approval, result = desk.approve(approval_id, arn, app.deployer)
    if app.as_json:
        echo_json({**result_data(result), "approval": approval_data(approval), "dry_run": dry_run})
    else:
        click.echo(outcomes_table(result.outcomes))
        done = "would approve" if dry_run else "approved"
        click.echo(f"{done} {approval.id} ({approval.image_text}) as {arn or 'the caller'}", err=True)
    show_notes(result.notes)
