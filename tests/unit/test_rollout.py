"""Judging a rollout by the deployment we started."""

from __future__ import annotations

import pytest

from ecr_autodeploy.core.model import Deployment, LifecycleHook, ServiceDeployment
from ecr_autodeploy.core.rollout import decide_rollback, judge, judge_service_deployment, progress_text

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


# ---- by the service deployment (the Service Deployments API) -------------------------------------------------

SD_ARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/shop/api/NCWGC2ZR"
CANARY_CONFIG = {
    "strategy": "CANARY",
    "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
    "bakeTimeInMinutes": 10,
}


def sd(status: str, stage: str | None = None, **fields: object) -> ServiceDeployment:
    return ServiceDeployment(SD_ARN, status, stage, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("status", "state", "rolled_back"),
    [
        ("SUCCESSFUL", "COMPLETED", False),
        ("STOPPED", "FAILED", False),
        ("ROLLBACK_SUCCESSFUL", "FAILED", True),
        ("ROLLBACK_FAILED", "FAILED", False),
        ("PENDING", "IN_PROGRESS", False),
        ("IN_PROGRESS", "IN_PROGRESS", False),
        ("ROLLBACK_REQUESTED", "IN_PROGRESS", False),
        ("ROLLBACK_IN_PROGRESS", "IN_PROGRESS", False),
        ("STOP_REQUESTED", "IN_PROGRESS", False),
    ],
)
def test_each_service_deployment_status(status: str, state: str, rolled_back: bool) -> None:
    judged = judge_service_deployment(OURS, sd(status, reason="ECS says so"))
    assert (judged.state, judged.rolled_back, judged.service_deployment) == (state, rolled_back, SD_ARN)
    assert "ECS says so" in judged.reason


def test_ecs_acting_itself_is_left_to_ecs() -> None:
    for status in (
        "ROLLBACK_REQUESTED",
        "ROLLBACK_IN_PROGRESS",
        "STOP_REQUESTED",
        "ROLLBACK_SUCCESSFUL",
        "ROLLBACK_FAILED",
    ):
        assert judge_service_deployment(OURS, sd(status)).ecs_acting, status
    assert not judge_service_deployment(OURS, sd("IN_PROGRESS", "SCALE_UP")).ecs_acting
    assert judge_service_deployment(OURS, sd("IN_PROGRESS", "BAKE_TIME")).ecs_acting
    baking = sd("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", configuration=CANARY_CONFIG)
    assert judge_service_deployment(OURS, baking).ecs_acting


def test_an_alarm_rollback_is_failed_naming_the_alarm() -> None:
    rolled = sd(
        "ROLLBACK_SUCCESSFUL",
        "PRODUCTION_TRAFFIC_SHIFT",
        reason="",
        rollback_reason="CloudWatch alarm triggered",
        triggered_alarms=("checkout-5xx",),
    )
    judged = judge_service_deployment(OURS, rolled)
    assert (judged.state, judged.rolled_back, judged.alarms) == ("FAILED", True, ("checkout-5xx",))
    assert "CloudWatch alarm checkout-5xx in ALARM" in judged.reason
    assert "rolled back by ECS" in judged.reason


def test_a_failed_event_during_ecs_s_rollback_is_failed_and_rolled_back_by_ecs() -> None:
    judged = judge_service_deployment(OURS, sd("ROLLBACK_IN_PROGRESS", reason="circuit breaker"), failed=True)
    assert (judged.state, judged.rolled_back, judged.ecs_acting) == ("FAILED", True, True)
    assert "ECS is rolling back" in judged.reason


def test_a_pause_hook_is_paused_not_failed_and_not_done() -> None:
    hook = LifecycleHook("hook-1", "PAUSE", "AWAITING_ACTION")
    judged = judge_service_deployment(OURS, sd("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", hooks=(hook,)))
    assert (judged.state, judged.done, judged.hook_id, judged.ecs_acting) == ("PAUSED", False, "hook-1", True)
    lambda_hook = LifecycleHook("hook-2", "AWS_LAMBDA", "IN_PROGRESS")
    assert (
        judge_service_deployment(OURS, sd("IN_PROGRESS", "POST_SCALE_UP", hooks=(lambda_hook,))).state == "IN_PROGRESS"
    )


def test_a_stopped_deployment_another_replaced_is_superseded() -> None:
    assert judge_service_deployment(OURS, sd("STOPPED"), current=SD_ARN + "-newer").state == "SUPERSEDED"
    assert judge_service_deployment(OURS, sd("STOPPED"), current=SD_ARN).state == "FAILED"


def test_progress_shows_the_stage_the_traffic_and_the_bake() -> None:
    canary = sd("IN_PROGRESS", "PRODUCTION_TRAFFIC_SHIFT", production_traffic=10.0, configuration=CANARY_CONFIG)
    assert progress_text(judge_service_deployment(OURS, canary), 180) == "PRODUCTION_TRAFFIC_SHIFT 10% 3/5 min"
    bake = sd("IN_PROGRESS", "BAKE_TIME", production_traffic=100.0, configuration=CANARY_CONFIG)
    assert progress_text(judge_service_deployment(OURS, bake), 3 * 60) == "BAKE_TIME 3/10 min"
    test = sd("IN_PROGRESS", "TEST_TRAFFIC_SHIFT", test_traffic=100.0)
    assert progress_text(judge_service_deployment(OURS, test)) == "TEST_TRAFFIC_SHIFT 100%"
    assert progress_text(judge_service_deployment(OURS, sd("IN_PROGRESS"))) == ""
    assert judge_service_deployment(OURS, bake).wait_seconds == 15 * 60


def test_rollback_is_left_to_ecs_while_it_acts_and_a_native_one_stops_the_service_deployment() -> None:
    common = {"wanted": True, "ecs_rolled_back": False, "breaker_rollback": False, "previous": "app:1"}
    acting = decide_rollback(state="TIMEOUT", ours="app:2", current="app:2", ecs_acting=True, **common)  # type: ignore[arg-type]
    assert not acting.roll_back
    assert "left to ECS" in acting.reason
    native = decide_rollback(state="TIMEOUT", ours="app:2", current="app:2", native=True, **common)  # type: ignore[arg-type]
    assert native.roll_back
    assert "StopServiceDeployment" in native.reason
    forced = decide_rollback(state="FAILED", ours="app:1", current="app:1", native=True, **common)  # type: ignore[arg-type]
    assert forced.roll_back, "a native rollback needs no previous revision of its own"
