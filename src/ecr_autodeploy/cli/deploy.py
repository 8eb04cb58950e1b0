"""``ecr-autodeploy deploy``: a manual deploy of one image to one service, with the same engine as events.

It waits by default, as ecspresso and ecs-deploy do: it follows the deployment it started, by its service
deployment where ECS has the API (else by id and rolloutState; never the services_stable waiter, which calls a
rolled-back service stable), shows progress with the lifecycle stage on stderr, and exits non-zero unless it
COMPLETED. ``--no-wait`` returns once ECS accepted the deployment. A deployment ECS holds at a PAUSE hook ends the
wait without failing: ``ecr-autodeploy continue`` resumes it. A deploy the engine skips (an older image than the
service runs) exits non-zero with the reason, unless allowed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ecr_autodeploy.cli.context import AppContext, image_options, installation_options, pass_app
from ecr_autodeploy.cli.diff import plan_diffs, record_plans, render_diffs
from ecr_autodeploy.cli.output import echo_json, outcomes_table, result_data, show_notes
from ecr_autodeploy.cli.plan import synthetic_event
from ecr_autodeploy.cli.progress import Progress
from ecr_autodeploy.core.errors import RolloutError, TargetError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.outcomes import Outcome, Result
from ecr_autodeploy.core.rollout import RolloutStatus
from ecr_autodeploy.core.tags import TagPolicy

if TYPE_CHECKING:
    from ecr_autodeploy.engine.deploy import Deployer

DEFAULT_TIMEOUT = 900
F = TypeVar("F", bound=Callable[..., Any])


def manual_request(
    app: AppContext,
    cluster: str,
    service: str,
    image: str,
    strategy: str,
    containers: tuple[str, ...],
    allow_downgrade: bool,
    rollback: bool,
    role_arn: str | None,
) -> tuple[ImageEvent, Target]:
    """Return the image event and the target of a deploy given on the command line."""
    host, repository, tag, digest = split_image(image)
    if tag is None and digest is None:
        raise click.BadParameter("give a tag (REPO:TAG) or a digest (REPO@sha256:...)", param_hint="--image")
    account = host.split(".", 1)[0] if host else None
    event = synthetic_event(app, repository, tag, digest, account)
    target = Target(
        cluster=cluster,
        service=service,
        region=event.region,
        role_arn=role_arn,
        containers=containers or None,
        strategy="force" if strategy == "force" else "pin",
        tags=TagPolicy(untagged=True),
        allow_downgrade=allow_downgrade,
        rollback=rollback,
        rule=None,
    )
    return event, target


def timeout_option(default: float = DEFAULT_TIMEOUT, what: str = "wait") -> Callable[[F], F]:
    """Return the --timeout option: how long to wait, in seconds (the same meaning on every verb)."""
    return click.option(
        "--timeout",
        type=click.FloatRange(min=0),
        default=default,
        show_default=True,
        help=f"Seconds to {what} before giving up (exit 1, state TIMEOUT).",
    )


interval_option = click.option(
    "--interval", type=click.FloatRange(min=0), default=5.0, show_default=True, help="Seconds between polls."
)


@click.command()
@image_options
@click.option("--allow-downgrade", is_flag=True, help="Deploy even if the service runs a newer image.")
@click.option("--allow-skip", is_flag=True, help="Exit 0 even when the engine skips the deploy (says why).")
@click.option("--dry-run", is_flag=True, help="Print the plan and the task-definition change; change nothing.")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Follow the rollout; exit 1 unless COMPLETED.")
@timeout_option()
@interval_option
@click.option(
    "--rollback",
    is_flag=True,
    help="On FAILED or timeout, go back to the previous revision (unless ECS's circuit breaker does).",
)
@click.option("--assume-role-arn", help="Reach the service through this role (another account), as a rule's role_arn.")
@installation_options
@pass_app
def deploy(
    app: AppContext,
    cluster: str,
    service: str,
    image: str,
    strategy: str,
    containers: tuple[str, ...],
    allow_downgrade: bool,
    allow_skip: bool,
    dry_run: bool,
    wait: bool,
    timeout: float,
    interval: float,
    rollback: bool,
    assume_role_arn: str | None,
) -> None:
    """Deploy one image to one service (pinned by digest, or a forced new deployment) and wait for its rollout."""
    if rollback and not wait:
        raise click.UsageError("--rollback needs the wait (drop --no-wait)")
    event, target = manual_request(
        app, cluster, service, image, strategy, containers, allow_downgrade, rollback, assume_role_arn
    )
    deployer = app.deployer(app.config_or_empty(), dry_run=dry_run)
    recorder = record_plans(deployer)
    result = deployer.deploy(event, [target])
    (outcome,) = result.outcomes
    if dry_run:
        diffs = plan_diffs(deployer, recorder.plans)
        _show(app, result, {"diff": [d.to_dict() for d in diffs]})
        if diffs and not app.as_json:
            click.echo()
            click.echo(render_diffs(diffs))
        return
    waiting = wait and outcome.status == "deployed" and bool(outcome.deployment_id)
    if not (waiting and app.as_json):
        _show(app, result, {})
    if outcome.status == "skipped" and not allow_skip:
        hint = " (pass --allow-downgrade to deploy it anyway)" if "newer" in outcome.reason else ""
        raise TargetError(f"not deployed to {outcome.target}: {outcome.reason}{hint}")
    if not waiting:
        return
    assert outcome.deployment_id is not None  # checked by `waiting`
    status = follow(deployer, target.ref, outcome.deployment_id, timeout, interval)
    rolled_back = _roll_back(deployer, target, outcome, status) if rollback else None
    if app.as_json:
        _show(app, result, {"rollout": {**asdict(status), "rollback_task_definition": rolled_back}})
    if status.state == "PAUSED":
        click.echo(
            f"{cluster}/{service}: deployment {status.deployment_id} paused at {status.progress or status.stage}; "
            f"resume it with: ecr-autodeploy continue --cluster {cluster} {service}",
            err=True,
        )
        return
    if status.state != "COMPLETED":
        extra = f"; rolled back to {rolled_back.rsplit('/', 1)[-1]}" if rolled_back else ""
        raise RolloutError(
            f"deployment {status.deployment_id} of {cluster}/{service} {status.state}: {status.reason}{extra}"
        )
    click.echo(f"{cluster}/{service}: deployment {status.deployment_id} COMPLETED", err=True)


def _show(app: AppContext, result: Result, extra: dict[str, Any]) -> None:
    if app.as_json:
        echo_json({**result_data(result), **extra})
    else:
        click.echo(outcomes_table(result.outcomes))
    show_notes(result.notes)


def follow(deployer: Deployer, ref: ServiceRef, deployment_id: str, timeout: float, interval: float) -> RolloutStatus:
    """Return the final status of a deployment, showing its state and task counts while it rolls out."""
    from ecr_autodeploy.engine.watch import watch

    with Progress(f"{ref.cluster}/{ref.service}") as progress:

        def show(status: RolloutStatus, elapsed: float) -> None:
            line = f"{status.state} running {status.running}/{status.desired} pending {status.pending}"
            if status.progress:
                line = f"{line} {status.progress}"
            progress.update(line, suffix=f" ({elapsed:.0f}s)")

        return watch(
            deployer.gather.cluster,
            ref,
            deployment_id,
            timeout=timeout,
            interval=interval,
            on_progress=show,
            clock=time.monotonic,
        )


def _roll_back(deployer: Deployer, target: Target, outcome: Outcome, status: RolloutStatus) -> str | None:
    """Roll back a FAILED / timed-out deployment unless ECS did; return the revision rolled back to."""
    if status.state not in ("FAILED", "TIMEOUT"):
        return None
    from ecr_autodeploy.engine.rollback import Rollback, RollbackRequest

    request = RollbackRequest(
        ref=target.ref,
        deployment_id=status.deployment_id,
        state=status.state,
        task_definition=outcome.task_definition or "",
        previous_task_definition=outcome.previous_task_definition,
        wanted=True,
        ecs_rolled_back=status.rolled_back,
        ecs_acting=status.ecs_acting,
        service_deployment_arn=status.service_deployment,
    )
    result = Rollback(deployer.gather, deployer.locks).run(request)
    click.echo(f"{target.cluster}/{target.service}: {result.decision.reason}", err=True)
    return outcome.previous_task_definition if result.rolled_back else None
