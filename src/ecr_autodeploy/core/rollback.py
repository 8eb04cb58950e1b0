"""Whether to roll a deployment back: only when the rule asks, ECS has not, and ECS will not.

A rule's ``rollback: true`` rolls a FAILED or timed-out deployment back to the task-definition revision the
service ran before it. ECS's deployment circuit breaker with ``rollback: true`` does that itself; then this tool
never acts (two rollbacks would race each other). With the breaker on but its rollback off, ECS only marks the
deployment FAILED, so the rule's rollback applies. A service that has moved on (a newer deployment) is left alone.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
"""

from __future__ import annotations

from dataclasses import dataclass


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
