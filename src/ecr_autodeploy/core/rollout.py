"""Judge a rollout by the deployment we started, the way ECS reports it; and decide whether to roll it back.

"One deployment and running == desired" (what the ``services_stable`` waiter checks) is not success: after a
circuit-breaker rollback the rolled-back-to deployment is PRIMARY and stable. Only the rolloutState of *our*
deployment says what happened to it.

Rollback: only when the rule asks, ECS has not, and ECS will not.

Where the Service Deployments API is available, ECS's own account of the deployment we started decides instead
(``judge_service_deployment``): SUCCESSFUL is COMPLETED; STOPPED, ROLLBACK_SUCCESSFUL and ROLLBACK_FAILED are
FAILED with ECS's reason (and the alarms that fired); while ECS is still acting (PENDING, IN_PROGRESS, a
rollback or stop requested or in progress) it is IN_PROGRESS, and never timed out while ECS bakes, pauses or
rolls back itself; a deployment held at a PAUSE lifecycle hook is PAUSED, not failed.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment.html

A rule's ``rollback: true`` rolls a FAILED or timed-out deployment back to the task-definition revision the
service ran before it. ECS's deployment circuit breaker with ``rollback: true`` does that itself; then this tool
never acts (two rollbacks would race each other). With the breaker on but its rollback off, ECS only marks the
deployment FAILED, so the rule's rollback applies. A service that has moved on (a newer deployment) is left alone.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Literal

from ecr_autodeploy.core.model import Deployment, Service, ServiceDeployment
from ecr_autodeploy.core.strategies import NATIVE_STRATEGIES, planned_seconds
from ecr_autodeploy.core.values import frozen

RolloutState = Literal["IN_PROGRESS", "PAUSED", "COMPLETED", "FAILED", "SUPERSEDED", "TIMEOUT"]
# Service deployment statuses while ECS itself rolls back or stops: in progress, and left to ECS.
ECS_ACTING = frozenset({"ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED"})
FAILED_STATUSES = frozenset({"STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED"})
OPEN_STATUSES = frozenset({"PENDING", "IN_PROGRESS"}) | ECS_ACTING
# Stages in which a native strategy waits on purpose (bake times between traffic shifts).
BAKING_STAGES = frozenset({"BAKE_TIME", "TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT"})


@frozen
class RolloutStatus:
    """Where our deployment stands; `rolled_back` is True when ECS replaced it with the previous revision."""

    state: RolloutState
    reason: str
    deployment_id: str
    running: int = 0
    desired: int = 0
    pending: int = 0
    task_definition: str | None = None
    rolled_back: bool = False
    # From the service deployment, where the API is available:
    service_deployment: str | None = None  # its ARN
    stage: str | None = None  # its lifecycle stage
    traffic: float | None = None  # percent of traffic on the new revision in a traffic-shift stage
    stage_minutes: float | None = None  # how long ECS waits in this stage (a bake time), when it does
    alarms: tuple[str, ...] = ()  # alarms that went to ALARM
    ecs_acting: bool = False  # ECS bakes, pauses or rolls back: never timed out or rolled back by this tool
    hook_id: str | None = None  # the PAUSE hook it waits at (ContinueServiceDeployment)
    progress: str = ""  # e.g. "BAKE_TIME 3/5 min" (the watcher knows how long the stage has lasted)
    wait_seconds: float = 0.0  # how long its strategy bakes on purpose (added to the rollout timeout)

    @property
    def done(self) -> bool:
        """Return True once the state will not change any more."""
        return self.state not in ("IN_PROGRESS", "PAUSED")

    @property
    def succeeded(self) -> bool:
        """Return True only for a COMPLETED deployment."""
        return self.state == "COMPLETED"


def judge(deployment_id: str, deployments: Sequence[Deployment]) -> RolloutStatus:
    """Return the status of deployment `deployment_id` among a service's current deployments."""
    ours = next((d for d in deployments if d.id == deployment_id), None)
    primary = next((d for d in deployments if d.status == "PRIMARY"), None)
    if ours is None:
        # ECS drops finished deployments from the list; ours is gone and another is PRIMARY.
        other = primary.id if primary else "none"
        return RolloutStatus(
            "SUPERSEDED", f"deployment {deployment_id} is no longer listed (PRIMARY: {other})", deployment_id
        )
    reason = ours.rollout_reason or ""
    if ours.rollout_state == "FAILED":
        rolled_back = primary is not None and primary.id != ours.id
        if rolled_back and primary is not None:
            reason = f"{reason} (rolled back to {primary.task_definition.rsplit('/', 1)[-1]})".strip()
        return _status("FAILED", reason or "deployment failed", ours, rolled_back=rolled_back)
    if ours.rollout_state == "COMPLETED":
        return _status("COMPLETED", reason or "deployment completed", ours)
    if ours.status != "PRIMARY" and primary is not None:
        # Still in progress but no longer PRIMARY: a newer deployment took over (ours is being drained).
        return _status("SUPERSEDED", f"superseded by deployment {primary.id}", ours)
    return _status("IN_PROGRESS", reason or "in progress", ours)


def _status(state: RolloutState, reason: str, ours: Deployment, *, rolled_back: bool = False) -> RolloutStatus:
    return RolloutStatus(
        state,
        reason,
        ours.id,
        running=ours.running,
        desired=ours.desired,
        pending=ours.pending,
        task_definition=ours.task_definition,
        rolled_back=rolled_back,
    )


def judge_service_deployment(
    deployment_id: str,
    sd: ServiceDeployment,
    current: str | None = None,
    task_definition: str | None = None,
    *,
    failed: bool = False,
) -> RolloutStatus:
    """Return the status of our deployment as its service deployment tells it.

    `current` is the service's current service deployment (a STOPPED deployment that another replaced is
    SUPERSEDED); `failed` says that ECS already reported the deployment FAILED (its state-change event): a
    rollback ECS has requested or runs is then FAILED, rolled back by ECS, rather than in progress.
    """
    base = RolloutStatus(
        "IN_PROGRESS",
        sd.reason or f"service deployment {sd.status}",
        deployment_id,
        running=sd.running,
        desired=sd.requested,
        pending=sd.pending,
        task_definition=task_definition,
        service_deployment=sd.arn,
        stage=sd.stage,
        traffic=_traffic(sd),
        stage_minutes=_stage_minutes(sd),
        alarms=sd.triggered_alarms,
        wait_seconds=planned_seconds(sd.configuration),
    )
    if sd.status == "SUCCESSFUL":
        done = (
            f"{sd.reason.rstrip('.')} (service deployment SUCCESSFUL)" if sd.reason else "service deployment SUCCESSFUL"
        )
        return replace(base, state="COMPLETED", reason=done)
    if sd.status in FAILED_STATUSES:
        if sd.status == "STOPPED" and current is not None and current != sd.arn:
            return replace(base, state="SUPERSEDED", reason=f"stopped; ECS now runs service deployment {current}")
        rolled_back = sd.status == "ROLLBACK_SUCCESSFUL"
        # ECS rolled back (or tried to): this tool never rolls back on top of it.
        acting = sd.status != "STOPPED"
        return replace(base, state="FAILED", reason=_failure(sd), rolled_back=rolled_back, ecs_acting=acting)
    hook = sd.paused_hook
    if hook is not None:
        reason = f"paused at {sd.stage or 'a lifecycle hook'} (hook {hook.hook_id}); ecr-autodeploy continue resumes it"
        return replace(base, state="PAUSED", reason=reason, ecs_acting=True, hook_id=hook.hook_id)
    if sd.status in ECS_ACTING:
        reason = _failure(sd, acting=True)
        if failed:
            rolled_back = sd.status != "STOP_REQUESTED"
            return replace(base, state="FAILED", reason=reason, rolled_back=rolled_back, ecs_acting=True)
        return replace(base, reason=reason, ecs_acting=True)
    baking = sd.stage == "BAKE_TIME" or (sd.strategy in NATIVE_STRATEGIES and sd.stage in BAKING_STAGES)
    return replace(base, ecs_acting=baking)


def _failure(sd: ServiceDeployment, acting: bool = False) -> str:
    """Return ECS's reason for a failed (or failing) service deployment, naming the alarms that fired."""
    parts = [p.rstrip(".") for p in (sd.reason, sd.rollback_reason) if p]
    if sd.triggered_alarms and not any(a in " ".join(parts) for a in sd.triggered_alarms):
        alarm = "alarm" if len(sd.triggered_alarms) == 1 else "alarms"
        parts.append(f"CloudWatch {alarm} {', '.join(sd.triggered_alarms)} in ALARM")
    text = "; ".join(dict.fromkeys(parts)) or f"service deployment {sd.status}"
    if acting:
        what = "rolling back" if sd.status != "STOP_REQUESTED" else "stopping"
        return f"{text} (ECS is {what}: {sd.status})"
    return {
        "ROLLBACK_SUCCESSFUL": f"{text} (rolled back by ECS: ROLLBACK_SUCCESSFUL)",
        "ROLLBACK_FAILED": f"{text} (ECS's rollback FAILED: ROLLBACK_FAILED; look at the service)",
        "STOPPED": f"{text} (service deployment STOPPED)",
    }.get(sd.status, text)


def _traffic(sd: ServiceDeployment) -> float | None:
    if sd.stage in ("TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT"):
        return sd.test_traffic
    if sd.stage in ("PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"):
        return sd.production_traffic
    return None


def _stage_minutes(sd: ServiceDeployment) -> float | None:
    """Return how long ECS waits in the current stage: the bake time, or a canary / linear step's bake."""
    config = sd.configuration
    if sd.stage == "BAKE_TIME":
        value = config.get("bakeTimeInMinutes")
        return float(value) if value is not None else None
    if sd.stage == "PRODUCTION_TRAFFIC_SHIFT" and (sd.production_traffic or 0) < 100:
        if sd.strategy == "CANARY":
            return float((config.get("canaryConfiguration") or {}).get("canaryBakeTimeInMinutes", 10))
        if sd.strategy == "LINEAR":
            return float((config.get("linearConfiguration") or {}).get("stepBakeTimeInMinutes", 6))
    return None


def progress_text(status: RolloutStatus, stage_seconds: float | None = None) -> str:
    """Return the stage of a rollout for people, e.g. ``BAKE_TIME 3/5 min`` ("" when it has no stage)."""
    if status.stage is None:
        return ""
    parts = [status.stage]
    if status.traffic is not None and status.stage != "BAKE_TIME":
        parts.append(f"{status.traffic:g}%")
    if status.stage_minutes is not None:
        waited = f"{min(stage_seconds / 60, status.stage_minutes):.0f}/" if stage_seconds is not None else ""
        parts.append(f"{waited}{status.stage_minutes:g} min")
    if status.state == "PAUSED":
        parts.append("paused")
    return " ".join(parts)


def failed_status(deployment_id: str, task_definition: str, service: Service | None, reason: str) -> RolloutStatus:
    """Return FAILED for our deployment with ECS's reason; rolled_back when ECS put the previous revision back."""
    judged = judge(deployment_id, service.deployments) if service is not None else None
    rolled_back = bool(judged and judged.state == "FAILED" and judged.rolled_back)
    if not rolled_back and service is not None:
        # The failed deployment may already be gone from the list once ECS's rollback completed.
        rolled_back = (
            service.circuit_breaker
            and service.circuit_breaker_rollback
            and service.task_definition_arn != task_definition
        )
    text = reason or (judged.reason if judged else "") or "deployment failed"
    if rolled_back and "rolled back" not in text:
        current = service.task_definition_arn.rsplit("/", 1)[-1] if service else "the previous revision"
        text = f"{text} (rolled back by ECS to {current})"
    return RolloutStatus(
        "FAILED",
        text,
        deployment_id,
        running=judged.running if judged else 0,
        desired=judged.desired if judged else 0,
        pending=judged.pending if judged else 0,
        task_definition=task_definition,
        rolled_back=rolled_back,
    )


@frozen
class RollbackDecision:
    """Roll back or not, and why."""

    roll_back: bool
    reason: str


def decide_rollback(
    *,
    wanted: bool,
    state: str,
    ecs_rolled_back: bool,
    breaker_rollback: bool,
    ours: str,
    current: str | None,
    previous: str | None,
    ecs_acting: bool = False,
    native: bool = False,
    manual: bool = False,
) -> RollbackDecision:
    """Return whether to roll back our deployment of `ours` after it ended in `state`.

    `native`: the service runs a native strategy (BLUE_GREEN, LINEAR, CANARY), rolled back by stopping its service
    deployment (StopServiceDeployment ROLLBACK) rather than by pointing it at `previous`. `manual`: a person asks
    (``ecr-autodeploy rollback``): a circuit breaker that rolls back failures does not stand in the way of going
    back from a deployment that completed, and the service is pointed at `previous` (Rollback stops a service
    deployment that is still open instead).
    """
    if state not in ("FAILED", "TIMEOUT"):
        return RollbackDecision(False, f"deployment is {state}")
    if ecs_rolled_back:
        return RollbackDecision(False, "ECS rolled the deployment back (deployment circuit breaker)")
    if ecs_acting:
        return RollbackDecision(False, "ECS is still baking, pausing or rolling back this deployment; left to ECS")
    if breaker_rollback and not manual:
        return RollbackDecision(False, "the service's deployment circuit breaker rolls back; left to ECS")
    if not wanted:
        return RollbackDecision(False, "the rule does not set rollback: true")
    if native and not manual:
        if current is not None and current != ours:
            return RollbackDecision(False, f"the service has moved on to {current.rsplit('/', 1)[-1]}; not rolled back")
        return RollbackDecision(True, "stopping the service deployment with rollback (StopServiceDeployment)")
    if previous is None:
        return RollbackDecision(False, "the task definition the service ran before is not known")
    if previous == ours:
        return RollbackDecision(False, "the deployment reused the task definition (force): nothing to roll back to")
    if current is not None and current != ours:
        revision = current.rsplit("/", 1)[-1]
        return RollbackDecision(False, f"the service has moved on to {revision}; not rolled back")
    return RollbackDecision(True, f"rolling back to {previous.rsplit('/', 1)[-1]}")
