"""Deployments held at a PAUSE lifecycle hook: find the one a service waits at, and continue (or roll back) it.

ECS pauses a service deployment at a stage with a PAUSE hook until ContinueServiceDeployment names the hook;
the hook's own timeout (ROLLBACK by default) applies otherwise. Paused is not failed: the tracker reports it
`paused`, and approvals can be built on this verb.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/continue-service-deployment.html
"""

from __future__ import annotations

from ecr_autodeploy.core.errors import AwsError, TargetError
from ecr_autodeploy.core.model import LifecycleHook, ServiceDeployment, ServiceRef
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.engine.ports import DeploymentReader


@frozen
class Paused:
    """A service deployment waiting at a PAUSE hook."""

    ref: ServiceRef
    service_deployment: ServiceDeployment
    hook: LifecycleHook


def find_paused(cluster: DeploymentReader, ref: ServiceRef) -> Paused:
    """Return the service's current service deployment and the PAUSE hook it waits at.

    Raise TargetError when it waits at none, AwsError when the service or the API cannot be read.
    """
    service = cluster.services([ref])[ref]
    if isinstance(service, AwsError):
        raise service
    arn = service.current_service_deployment
    if arn is None:
        raise TargetError(f"service {ref.key} reports no current service deployment: nothing is paused there")
    described = cluster.service_deployments(ref, [arn])
    if described is None:
        raise AwsError(
            "describing service deployments",
            "OperationNotAvailable",
            "the Service Deployments API is not available with this SDK or endpoint",
            resource=ref.key,
        )
    sd = described.get(arn)
    if sd is None:
        raise TargetError(f"service {ref.key}: service deployment {arn} was not found")
    hook = sd.paused_hook
    if hook is None:
        stage = f" at {sd.stage}" if sd.stage else ""
        raise TargetError(f"service {ref.key}: service deployment {arn} is {sd.status}{stage}, not paused at a hook")
    return Paused(ref, sd, hook)


def resume(cluster: DeploymentReader, paused: Paused, *, rollback: bool = False) -> None:
    """Continue the paused deployment to its next stage (with `rollback`, roll it back instead)."""
    cluster.continue_service_deployment(
        paused.ref, paused.service_deployment.arn, paused.hook.hook_id, rollback=rollback
    )
