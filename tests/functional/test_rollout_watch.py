"""Waiting on a deployment by id, with a fake clock and a service whose deployments change between polls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ecr_autodeploy.aws.ecs import service_from
from ecr_autodeploy.core.errors import NotFoundError
from ecr_autodeploy.core.model import Service, ServiceRef
from ecr_autodeploy.core.rollout import RolloutStatus
from ecr_autodeploy.engine.watch import watch
from tests.fakes import WithoutServiceDeployments


class ScriptedService(WithoutServiceDeployments):
    """Returns one scripted DescribeServices entry per poll (the last one repeats)."""

    def __init__(self, script: list[list[dict[str, Any]]]) -> None:
        self.script = script
        self.polls = 0

    def services(self, refs: Sequence[ServiceRef]) -> Mapping[ServiceRef, Service | NotFoundError]:
        deployments = self.script[min(self.polls, len(self.script) - 1)]
        self.polls += 1
        return {ref: service_from({"serviceName": ref.service, "deployments": deployments}, ref) for ref in refs}


API = ServiceRef("us-east-1", "shop", "api")


def d(id_: str, status: str, state: str, running: int, td: str = "app:2", reason: str = "") -> dict[str, Any]:
    return {
        "id": id_,
        "status": status,
        "rolloutState": state,
        "runningCount": running,
        "desiredCount": 2,
        "taskDefinition": f"arn:aws:ecs:us-east-1:123456789012:task-definition/{td}",
        "rolloutStateReason": reason,
    }


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_watch_reports_progress_until_completed() -> None:
    svc = ScriptedService(
        [
            [d("new", "PRIMARY", "IN_PROGRESS", 0)],
            [d("new", "PRIMARY", "IN_PROGRESS", 1)],
            [d("new", "PRIMARY", "COMPLETED", 2)],
        ]
    )
    clock = FakeClock()
    seen: list[tuple[str, int]] = []

    def progress(status: RolloutStatus, elapsed: float) -> None:
        seen.append((status.state, status.running))

    final = watch(
        svc,
        API,
        "new",
        timeout=60,
        interval=5,
        on_progress=progress,
        clock=clock,
        sleep=clock.sleep,
    )

    assert final.state == "COMPLETED"
    assert seen == [("IN_PROGRESS", 0), ("IN_PROGRESS", 1), ("COMPLETED", 2)]
    assert clock.now == 10


def test_watch_reports_a_rollback_as_failed() -> None:
    svc = ScriptedService(
        [
            [d("new", "PRIMARY", "IN_PROGRESS", 0)],
            [d("back", "PRIMARY", "COMPLETED", 2, "app:1"), d("new", "ACTIVE", "FAILED", 0, reason="circuit breaker")],
        ]
    )
    clock = FakeClock()
    final = watch(svc, API, "new", timeout=60, interval=1, clock=clock, sleep=clock.sleep)
    assert (final.state, final.rolled_back) == ("FAILED", True)


def test_watch_times_out() -> None:
    svc = ScriptedService([[d("new", "PRIMARY", "IN_PROGRESS", 1)]])
    clock = FakeClock()
    final = watch(svc, API, "new", timeout=12, interval=5, clock=clock, sleep=clock.sleep)
    assert final.state == "TIMEOUT"
    assert clock.now == 12
    assert svc.polls == 4
