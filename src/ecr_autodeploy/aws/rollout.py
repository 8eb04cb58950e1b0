"""Wait on the deployment we started, by id and rolloutState (never the services_stable waiter)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ecr_autodeploy.aws.ecs import deployment_from
from ecr_autodeploy.core.rollout import RolloutStatus, judge

ProgressCallback = Callable[[RolloutStatus, float], None]


class ServiceReader(Protocol):
    """Reads one service's description (aws.ecs.Cluster is one)."""

    def describe(self, region: str, role_arn: str | None, cluster: str, service: str) -> Mapping[str, Any]:
        """Return the DescribeServices entry of one service."""
        ...


def watch(
    cluster: ServiceReader,
    region: str,
    role_arn: str | None,
    cluster_name: str,
    service: str,
    deployment_id: str,
    *,
    timeout: float,
    interval: float = 5.0,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutStatus:
    """Return the final status of the deployment, or TIMEOUT; a failed rollout is a status, not an exception."""
    started = clock()
    while True:
        described = cluster.describe(region, role_arn, cluster_name, service)
        status = judge(deployment_id, [deployment_from(d) for d in described.get("deployments", [])])
        elapsed = clock() - started
        if on_progress is not None:
            on_progress(status, elapsed)
        if status.done:
            return status
        if elapsed >= timeout:
            return RolloutStatus(
                "TIMEOUT",
                f"deployment {deployment_id} still {status.state} after {elapsed:.0f}s",
                deployment_id,
                running=status.running,
                desired=status.desired,
                pending=status.pending,
                task_definition=status.task_definition,
            )
        sleep(min(interval, max(0.0, timeout - elapsed)))
