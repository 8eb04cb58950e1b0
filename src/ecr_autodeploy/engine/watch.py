"""Wait on the deployment we started: by its service deployment where ECS has the API, else by id and rolloutState.

Never the services_stable waiter (it calls a rolled-back service stable). The service deployment that our
UpdateService started is found once (ListServiceDeployments around the deployment's creation), then described on
every poll: its status, lifecycle stage, traffic shift and the alarms that fired. A deployment held at a PAUSE
hook ends the wait as PAUSED (not a failure); one that ECS is still baking or rolling back is never cut short as
a failure by this tool: at the timeout it is TIMEOUT with ``ecs_acting`` set, which no rollback overrides.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.model import Service, ServiceDeployment, ServiceRef
from ecr_autodeploy.core.rollout import RolloutStatus, judge, judge_service_deployment, progress_text
from ecr_autodeploy.engine.ports import DeploymentReader

ProgressCallback = Callable[[RolloutStatus, float], None]


class Follower:
    """Judge one deployment of one service, by its service deployment once found, else by ``deployments[]``."""

    def __init__(
        self,
        cluster: DeploymentReader,
        ref: ServiceRef,
        deployment_id: str,
        *,
        task_definition: str | None = None,
        since: datetime | None = None,
        arn: str | None = None,
    ) -> None:
        self.cluster = cluster
        self.ref = ref
        self.deployment_id = deployment_id
        self.task_definition = task_definition
        self.since = since
        self.arn = arn

    def service_deployment(self, service: Service | None) -> ServiceDeployment | None:
        """Return our service deployment as ECS describes it now (None where the API is not available)."""
        ours = next((d for d in service.deployments if d.id == self.deployment_id), None) if service else None
        if ours is not None:
            self.task_definition = self.task_definition or ours.task_definition
            # ECS's own clock stamps both the deployment and its service deployment.
            self.since = ours.created_at or self.since
        if self.arn is None:
            if self.since is None:
                return None
            found = self.cluster.find_service_deployment(
                self.ref, since=self.since, deployment_id=self.deployment_id, task_definition=self.task_definition
            )
            if found is not None:
                self.arn = found.arn
            return found
        described = self.cluster.service_deployments(self.ref, [self.arn])
        return None if described is None else described.get(self.arn)

    def judge(self, service: Service) -> RolloutStatus:
        """Return where our deployment stands on `service` as read now."""
        sd = self.service_deployment(service)
        if sd is None:
            return judge(self.deployment_id, service.deployments)
        return judge_service_deployment(
            self.deployment_id, sd, service.current_service_deployment, task_definition=self.task_definition
        )


def watch(
    cluster: DeploymentReader,
    ref: ServiceRef,
    deployment_id: str,
    *,
    timeout: float,
    interval: float = 5.0,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RolloutStatus:
    """Return the final status of the deployment, PAUSED at a PAUSE hook, or TIMEOUT; a failed rollout is a status.

    Raise AwsError (NotFoundError when the service is gone) when the service cannot be read.
    """
    started = clock()
    follower = Follower(cluster, ref, deployment_id)
    stage: tuple[str | None, float] = (None, started)
    while True:
        service = cluster.services([ref])[ref]
        if isinstance(service, AwsError):
            raise service
        status = follower.judge(service)
        now = clock()
        if status.stage != stage[0]:
            stage = (status.stage, now)
        status = replace(status, progress=progress_text(status, now - stage[1]))
        elapsed = now - started
        if on_progress is not None:
            on_progress(status, elapsed)
        if status.done or status.state == "PAUSED":
            return status
        if elapsed >= timeout:
            what = f"{status.state} ({status.progress})" if status.progress else status.state
            return replace(
                status, state="TIMEOUT", reason=f"deployment {deployment_id} still {what} after {elapsed:.0f}s"
            )
        sleep(min(interval, max(0.0, timeout - elapsed)))
