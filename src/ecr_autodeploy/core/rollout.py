"""Judge a rollout by the deployment we started, the way ECS reports it.

"One deployment and running == desired" (what the ``services_stable`` waiter checks) is not success: after a
circuit-breaker rollback the rolled-back-to deployment is PRIMARY and stable. Only the rolloutState of *our*
deployment says what happened to it.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ecr_autodeploy.core.planning import Deployment

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
