"""``ecr-autodeploy continue``: resume a deployment that ECS holds at a PAUSE lifecycle hook (or roll it back)."""

from __future__ import annotations

import click

from ecr_autodeploy.cli.context import AppContext, pass_app
from ecr_autodeploy.cli.output import echo_json
from ecr_autodeploy.core.model import ServiceRef


@click.command("continue")
@click.argument("service")
@click.option("--cluster", default="default", show_default=True, help="ECS cluster of the service.")
@click.option("--rollback", is_flag=True, help="Roll the paused deployment back instead of continuing it.")
@click.option("--dry-run", is_flag=True, help="Say which deployment and hook; change nothing.")
@pass_app
def continue_command(app: AppContext, service: str, cluster: str, rollback: bool, dry_run: bool) -> None:
    """Continue SERVICE's deployment paused at a PAUSE hook (ContinueServiceDeployment); exit 1 if none is paused."""
    from ecr_autodeploy.aws.ecs import Cluster
    from ecr_autodeploy.engine.paused import find_paused, resume

    ports = Cluster(app.clients())  # ECS only: continuing a paused deployment needs no ledger
    paused = find_paused(ports, ServiceRef(app.clients().region, cluster, service))
    action = "ROLLBACK" if rollback else "CONTINUE"
    if not dry_run:
        resume(ports, paused, rollback=rollback)
    sd = paused.service_deployment
    if app.as_json:
        echo_json(
            {
                "service": paused.ref.key,
                "service_deployment": sd.arn,
                "stage": sd.stage,
                "hook_id": paused.hook.hook_id,
                "action": action,
                "dry_run": dry_run,
            }
        )
        return
    done = "would send" if dry_run else "sent"
    click.echo(f"{paused.ref.key}: {sd.arn} paused at {sd.stage or '?'} (hook {paused.hook.hook_id}): {done} {action}")
