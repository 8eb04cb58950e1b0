"""Judge a rollout by the deployment we started, the way ECS reports it; and decide whether to roll it back.

"One deployment and running == desired" (what the ``services_stable`` waiter checks) is not success: after a
circuit-breaker rollback the rolled-back-to deployment is PRIMARY and stable. Only the rolloutState of *our*
deployment says what happened to it.

Rollback: only when the rule asks, ECS has not, and ECS will not.

A rule's ``rollback: true`` rolls a FAILED or timed-out deployment back to the task-definition revision the
service ran before it. ECS's deployment circuit breaker with ``rollback: true`` does that itself; then this tool
never acts (two rollbacks would race each other). With the breaker on but its rollback off, ECS only marks the
deployment FAILED, so the rule's rollback applies. A service that has moved on (a newer deployment) is left alone.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ecr_autodeploy.core.model import Deployment, Service

RolloutState = Literal["IN_PROGRESS", "COMPLETED", "FAILED", "SUPERSEDED", "TIMEOUT"]


@dataclass(frozen=True)
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

    @property
    def done(self) -> bool:
        """Return True once the state will not change any more."""
        return self.state != "IN_PROGRESS"

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


@dataclass(frozen=True)
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
) -> RollbackDecision:
    """Return whether to point the service back at `previous` after our deployment of `ours` ended in `state`."""
    if state not in ("FAILED", "TIMEOUT"):
        return RollbackDecision(False, f"deployment is {state}")
    if ecs_rolled_back:
        return RollbackDecision(False, "ECS rolled the deployment back (deployment circuit breaker)")
    if breaker_rollback:
        return RollbackDecision(False, "the service's deployment circuit breaker rolls back; left to ECS")
    if not wanted:
        return RollbackDecision(False, "the rule does not set rollback: true")
    if previous is None:
        return RollbackDecision(False, "the task definition the service ran before is not known")
    if previous == ours:
        return RollbackDecision(False, "the deployment reused the task definition (force): nothing to roll back to")
    if current is not None and current != ours:
        revision = current.rsplit("/", 1)[-1]
        return RollbackDecision(False, f"the service has moved on to {revision}; not rolled back")
    return RollbackDecision(True, f"rolling back to {previous.rsplit('/', 1)[-1]}")
