"""``ecr-autodeploy deploy``: a manual deploy of one image to one service, with the same engine as events.

``--wait`` follows the deployment it started, by its service deployment where ECS has the API (else by id and
rolloutState; never the services_stable waiter, which calls a rolled-back service stable), prints progress with
the lifecycle stage on stderr and exits non-zero unless it COMPLETED. A deployment ECS holds at a PAUSE hook ends
the wait without failing: ``ecr-autodeploy continue`` resumes it.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from ecr_autodeploy.cli.context import AppContext, json_option, pass_app
from ecr_autodeploy.cli.output import echo_json, show_result
from ecr_autodeploy.cli.plan import synthetic_event
from ecr_autodeploy.core.errors import RolloutError, TargetError
from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.outcomes import Outcome, Result
from ecr_autodeploy.core.rollout import RolloutStatus
from ecr_autodeploy.core.tags import TagPolicy

if TYPE_CHECKING:
    from ecr_autodeploy.engine.deploy import Deployer

DEFAULT_TIMEOUT = 900


@click.command()
@click.option("--cluster", required=True, help="ECS cluster name.")
@click.option("--service", required=True, help="ECS service name.")
@click.option("--image", required=True, help="REPO:TAG or REPO@sha256:DIGEST (a full ECR URI works too).")
@click.option("--strategy", type=click.Choice(["pin", "force"]), default="pin", show_default=True)
@click.option("--container", "containers", multiple=True, help="Only these containers (repeatable).")
@click.option("--allow-downgrade", is_flag=True, help="Deploy even if the service runs a newer image.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--wait", is_flag=True, help="Follow the rollout; exit 1 unless it COMPLETED.")
@click.option(
    "--timeout", type=click.FloatRange(min=0), default=DEFAULT_TIMEOUT, show_default=True, help="Seconds to --wait."
)
@click.option("--interval", type=click.FloatRange(min=0), default=5.0, show_default=True, help="Seconds between polls.")
@click.option(
    "--rollback",
    is_flag=True,
    help="With --wait: on FAILED or timeout, go back to the previous revision (unless ECS's circuit breaker does).",
)
@json_option
@pass_app
def deploy(
    app: AppContext,
    cluster: str,
    service: str,
    image: str,
    strategy: str,
    containers: tuple[str, ...],
    allow_downgrade: bool,
    dry_run: bool,
    wait: bool,
    timeout: float,
    interval: float,
    rollback: bool,
    as_json: bool,
) -> None:
    """Deploy one image to one service: pinned by digest (default) or as a forced new deployment."""
    if rollback and not wait:
        raise click.UsageError("--rollback needs --wait")
    host, repository, tag, digest = split_image(image)
    if tag is None and digest is None:
        raise click.BadParameter("give a tag (REPO:TAG) or a digest (REPO@sha256:...)", param_hint="--image")
    account = host.split(".", 1)[0] if host else None
    event = synthetic_event(app, repository, tag, digest, account)
    target = Target(
        cluster=cluster,
        service=service,
        region=event.region,
        role_arn=None,
        containers=containers or None,
        strategy="force" if strategy == "force" else "pin",
        tags=TagPolicy(untagged=True),
        allow_downgrade=allow_downgrade,
        rollback=rollback,
        rule=None,
    )
    deployer = app.deployer(app.config_or_empty(), dry_run=dry_run)
    result = deployer.deploy(event, [target])
    (outcome,) = result.outcomes
    if outcome.status == "skipped":
        # A person asked for this image on this service: the engine refusing it is an error, with its reason.
        show_result(result, as_json)
        raise TargetError(f"{cluster}/{service}: not deployed: {outcome.reason}")
    if not wait or dry_run or outcome.status != "deployed" or not outcome.deployment_id:
        if wait and not dry_run:
            click.echo(f"nothing to wait for: {outcome.status}", err=True)
        show_result(result, as_json)
        return
    if not as_json:
        show_result(result, as_json)
    status = _follow(deployer, target, outcome.deployment_id, timeout, interval)
    rolled_back = _roll_back(deployer, target, outcome, status) if rollback else None
    if as_json:
        echo_json(_with_rollout(result, status, rolled_back))
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


def _follow(deployer: Deployer, target: Target, deployment_id: str, timeout: float, interval: float) -> RolloutStatus:
    from ecr_autodeploy.engine.watch import watch

    last: list[str] = []

    def progress(status: RolloutStatus, elapsed: float) -> None:
        line = f"{status.state} running {status.running}/{status.desired} pending {status.pending}"
        if status.progress:
            line = f"{line} {status.progress}"
        if not last or last[-1] != line:
            click.echo(f"{target.cluster}/{target.service}: {line} ({elapsed:.0f}s)", err=True)
            last.append(line)

    return watch(
        deployer.gather.cluster, target.ref, deployment_id, timeout=timeout, interval=interval, on_progress=progress
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


def _with_rollout(result: Result, status: RolloutStatus, rolled_back: str | None) -> dict[str, Any]:
    data = result.to_dict()
    data["rollout"] = {**asdict(status), "rollback_task_definition": rolled_back}
    return data
