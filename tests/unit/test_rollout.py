"""Judging a rollout by the deployment we started."""

from __future__ import annotations

from ecr_autodeploy.core.model import Deployment
from ecr_autodeploy.core.rollout import judge

OURS = "ecs-svc/2222"
OLD = "ecs-svc/1111"


def dep(id_: str, status: str, state: str | None, td: str = "app:2", running: int = 0, reason: str = "") -> Deployment:
    return Deployment(
        id_, status, f"arn:aws:ecs:us-east-1:123456789012:task-definition/{td}", state, reason or None, running, 2
    )


def test_in_progress_while_primary() -> None:
    status = judge(OURS, [dep(OURS, "PRIMARY", "IN_PROGRESS", running=1), dep(OLD, "ACTIVE", "COMPLETED", "app:1", 2)])
    assert (status.state, status.done, status.running, status.desired) == ("IN_PROGRESS", False, 1, 2)


def test_completed() -> None:
    status = judge(OURS, [dep(OURS, "PRIMARY", "COMPLETED", running=2)])
    assert status.state == "COMPLETED"
    assert status.succeeded


def test_circuit_breaker_rollback_is_failed_even_though_the_service_is_stable() -> None:
    # After the rollback the PRIMARY deployment runs the old revision with running == desired: "stable".
    reason = "ECS deployment circuit breaker: tasks failed to start."
    deployments = [
        dep("ecs-svc/3333", "PRIMARY", "COMPLETED", "app:1", running=2),
        dep(OURS, "ACTIVE", "FAILED", reason=reason),
    ]
    status = judge(OURS, deployments)
    assert status.state == "FAILED"
    assert not status.succeeded
    assert status.rolled_back
    assert reason in status.reason
    assert "app:1" in status.reason


def test_failed_without_rollback() -> None:
    status = judge(OURS, [dep(OURS, "PRIMARY", "FAILED", reason="tasks failed")])
    assert (status.state, status.rolled_back, status.reason) == ("FAILED", False, "tasks failed")


def test_superseded_by_a_newer_deployment_or_gone() -> None:
    newer = [dep("ecs-svc/4444", "PRIMARY", "IN_PROGRESS", "app:3"), dep(OURS, "ACTIVE", "IN_PROGRESS")]
    assert judge(OURS, newer).state == "SUPERSEDED"
    assert judge(OURS, [dep("ecs-svc/4444", "PRIMARY", "COMPLETED", "app:3")]).state == "SUPERSEDED"
