"""``ecr-autodeploy rollback``: point a service back at the revision it ran before the last deployment we started.

The previous revision is the one the ledger recorded with that deployment (``previous_task_definition``). The
engine's Rollback decides and acts under the service's lock, on a fresh DescribeServices, so it never lands on
top of a newer deployment; a person asking for it counts as the deployment having failed. ``--dry-run`` says
what it would do and shows the change between the two revisions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from ecr_autodeploy.cli.context import AppContext, installation_options, pass_app
from ecr_autodeploy.cli.deploy import follow, interval_option, timeout_option
from ecr_autodeploy.cli.diff import TargetDiff, render_diffs
from ecr_autodeploy.cli.history import service_ref
from ecr_autodeploy.cli.output import echo_json, revision
from ecr_autodeploy.core.diff import registration, task_definition_diff
from ecr_autodeploy.core.errors import AwsError, ConfigError, RolloutError, TargetError
from ecr_autodeploy.core.records import DeploymentRecord
from ecr_autodeploy.core.rollout import decide_rollback

JUDGED_FAILED = ("FAILED", "TIMEOUT")


@click.command()
@click.option("--cluster", required=True, help="ECS cluster name.")
@click.option("--service", required=True, help="ECS service name.")
@click.option("--assume-role-arn", help="The role the function reaches the service through (another account).")
@click.option("--dry-run", is_flag=True, help="Say what would happen and show the change; change nothing.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the rollback's rollout.")
@timeout_option()
@interval_option
@installation_options
@pass_app
def rollback(
    app: AppContext,
    cluster: str,
    service: str,
    assume_role_arn: str | None,
    dry_run: bool,
    wait: bool,
    timeout: float,
    interval: float,
) -> None:
    """Roll a service back to the revision it ran before the last deployment the ledger recorded."""
    from ecr_autodeploy.engine.rollback import Rollback, RollbackRequest

    ledger = app.ledger()
    if ledger is None:
        raise ConfigError("--no-ledger", "rollback goes back to the revision the ledger recorded: drop --no-ledger")
    ref = service_ref(app, cluster, service, assume_role_arn)
    item = ledger.services([ref.ledger_key]).get(ref.ledger_key)
    record = ledger.deployment(item.deployment_id) if item is not None and item.deployment_id else None
    if record is None:
        raise TargetError(f"{ref.ledger_key}: the ledger {ledger.table} holds no deployment of this service")
    if record.rollback_of:
        raise TargetError(
            f"{ref.ledger_key}: the last deployment ({record.deployment_id}) is a rollback of "
            f"{record.rollback_of} already; deploy the image you want instead"
        )
    if not record.previous_task_definition:
        raise TargetError(f"{ref.ledger_key}: deployment {record.deployment_id} recorded no previous revision")
    deployer = app.deployer(app.config_or_empty(), dry_run=dry_run)
    state = record.state if record.state in JUDGED_FAILED else "FAILED"  # a person asking means it failed them
    request = RollbackRequest(
        ref=ref,
        deployment_id=record.deployment_id,
        state=state,
        task_definition=record.task_definition,
        previous_task_definition=record.previous_task_definition,
        wanted=True,
        ecs_rolled_back=record.rolled_back_by == "ecs",
        service_deployment_arn=record.service_deployment_arn,
        manual=True,
    )
    if dry_run:
        _dry_run(app, deployer, record, request)
        return
    result = Rollback(deployer.gather, deployer.locks).run(request)
    data: dict[str, Any] = {
        "service": ref.ledger_key,
        "deployment_id": record.deployment_id,
        "from": record.task_definition,
        "to": record.previous_task_definition,
        "rolled_back": result.rolled_back,
        "reason": result.decision.reason,
        "rollback_deployment_id": result.deployment.id if result.deployment else None,
    }
    if not result.rolled_back:
        if app.as_json:
            echo_json(data)
        raise TargetError(f"{ref.ledger_key}: not rolled back: {result.decision.reason}")
    if result.deployment is None:  # ECS rolls its open service deployment back itself
        data["stopped_service_deployment"] = result.stopped
        if app.as_json:
            echo_json(data)
        click.echo(f"{ref.ledger_key}: service deployment {result.stopped} stopped with rollback by ECS", err=True)
        return
    _record(ledger, record, result.deployment.id, deployer.reporter.clock())
    click.echo(
        f"{ref.ledger_key}: {revision(record.task_definition)} -> {revision(record.previous_task_definition)}: "
        f"deployment {result.deployment.id} started",
        err=True,
    )
    if wait:
        status = follow(deployer, ref, result.deployment.id, timeout, interval)
        data["rollout"] = {"state": status.state, "reason": status.reason}
        if app.as_json:
            echo_json(data)
        if status.state != "COMPLETED":
            raise RolloutError(f"rollback {status.deployment_id} of {ref.ledger_key} {status.state}: {status.reason}")
        return
    if app.as_json:
        echo_json(data)


def _dry_run(app: AppContext, deployer: Any, record: DeploymentRecord, request: Any) -> None:
    ref = request.ref
    service = deployer.gather.services([ref])[ref]
    if isinstance(service, AwsError):
        raise service
    decision = decide_rollback(
        wanted=True,
        state=request.state,
        ecs_rolled_back=request.ecs_rolled_back,
        breaker_rollback=service.circuit_breaker and service.circuit_breaker_rollback,
        ours=record.task_definition,
        current=service.task_definition_arn,
        previous=record.previous_task_definition,
        native=service.native,
        manual=True,
    )
    cluster = deployer.gather.cluster
    assert record.previous_task_definition is not None  # checked by the caller
    now = cluster.task_definition(ref, service.task_definition_arn)
    back = cluster.task_definition(ref, record.previous_task_definition)
    changes = task_definition_diff(registration(now.body, now.tags), registration(back.body, back.tags))
    diff = TargetDiff(ref.ledger_key, "register", service.task_definition_arn, changes, decision.reason)
    if app.as_json:
        echo_json(
            {
                "service": ref.ledger_key,
                "deployment_id": record.deployment_id,
                "from": service.task_definition_arn,
                "to": record.previous_task_definition,
                "would_roll_back": decision.roll_back,
                "reason": decision.reason,
                "diff": [diff.to_dict()],
            }
        )
        return
    verdict = "would roll back" if decision.roll_back else "would not roll back"
    click.echo(
        f"{ref.ledger_key}: {verdict} from {revision(service.task_definition_arn)} to "
        f"{revision(record.previous_task_definition)}: {decision.reason}"
    )
    if decision.roll_back and changes:
        click.echo(render_diffs([replace(diff, action="rollback")]).split("\n", 1)[-1])


def _record(ledger: Any, record: DeploymentRecord, rollback_id: str, now: float) -> None:
    """Record the rollback as a deployment too, so that the function recognises and reports its ECS events."""
    import uuid

    try:
        ledger.note(
            record.deployment_id,
            {
                "rolled_back_by": "ecr-autodeploy",
                "rollback_task_definition": record.previous_task_definition,
                "rollback_deployment_id": rollback_id,
            },
        )
        ledger.started(
            replace(
                record,
                deployment_id=rollback_id,
                task_definition=record.previous_task_definition or record.task_definition,
                previous_task_definition=record.task_definition,
                started_at=now,
                state="STARTED",
                rollback=False,
                rollback_of=record.deployment_id,
                reason=None,
                finished_at=None,
                event_kind="manual",
            ),
            uuid.uuid4().hex,
            claimed=False,
        )
    except AwsError as err:
        click.echo(f"warning: the rollback started but its ledger record failed: {err}", err=True)
