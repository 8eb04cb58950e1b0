"""Wait on the deployment we started, by id and rolloutState (never the services_stable waiter)."""

from __future__ import annotations

import time
from collections.abc import Callable

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.rollout import RolloutStatus, judge
from ecr_autodeploy.engine.ports import ServiceReader

ProgressCallback = Callable[[RolloutStatus, float], None]


def watch(
    cluster: ServiceReader,
    ref: ServiceRef,
    deployment_id: str,
    *,
    timeout: float,
    interval: float = 5.0,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutStatus:
    """Return the final status of the deployment, or TIMEOUT; a failed rollout is a status, not an exception.

    Raise AwsError (NotFoundError when the service is gone) when the service cannot be read.
    """
    started = clock()
    while True:
        service = cluster.services([ref])[ref]
        if isinstance(service, AwsError):
            raise service
        status = judge(deployment_id, service.deployments)
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
