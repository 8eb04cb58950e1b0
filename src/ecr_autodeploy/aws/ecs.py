"""ECS adapter: read services and task definitions, register revisions, start deployments (one AWS call each).

The Service Deployments API (ListServiceDeployments, DescribeServiceDeployments, StopServiceDeployment,
ContinueServiceDeployment) is newer than some botocore builds (a Lambda runtime's): each call checks that the
client knows the operation, and a client or an endpoint without it makes the call return None ("not
available"), so the engine falls back to judging by ``deployments[]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.aws.service_deployments import ServiceDeployments
from ecr_autodeploy.core.errors import NotFoundError
from ecr_autodeploy.core.model import Deployment, Service, ServiceRef, TaskDefinition

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

DESCRIBE_SERVICES_BATCH = 10  # DescribeServices takes at most 10 services per call
DESCRIBE_TASKS_BATCH = 100  # DescribeTasks takes at most 100 tasks per call


class Cluster(ServiceDeployments):
    """ECS calls of the deploy path, per region and (for cross-account targets) assumed role."""

    def __init__(self, clients: Clients) -> None:
        super().__init__(clients)
        self._clients = clients

    def _client(self, ref: ServiceRef) -> ECSClient:
        return self._clients.ecs(ref.region, ref.role_arn)

    def services(self, refs: Sequence[ServiceRef]) -> dict[ServiceRef, Service | NotFoundError]:
        """Return each service, or the NotFoundError saying why it is missing: one DescribeServices call.

        The refs share one (region, role, cluster) and are at most 10 (DescribeServices' limit); the engine's
        gather step groups and batches them.
        """
        if not refs:
            return {}
        first = refs[0]
        if len(refs) > DESCRIBE_SERVICES_BATCH or any(r.group != first.group for r in refs):
            raise ValueError("DescribeServices takes at most 10 services of one cluster, region and role")
        by_name = {r.service: r for r in refs}
        where = f"{first.region}/{first.cluster}"
        with aws_errors("describing services", where):
            found = self._client(first).describe_services(cluster=first.cluster, services=list(by_name))
        result: dict[ServiceRef, Service | NotFoundError] = {}
        for svc in found.get("services", []):
            ref = by_name.get(str(svc["serviceName"]))
            if ref is None:
                continue
            if svc.get("status") == "ACTIVE":
                result[ref] = service_from(svc, ref)
            else:
                result[ref] = NotFoundError(
                    "describing service", "ServiceNotActiveException", f"status {svc.get('status')}", resource=ref.key
                )
        for failure in found.get("failures", []):
            ref = by_name.get(str(failure.get("arn", "")).rsplit("/", 1)[-1])
            if ref is None:
                continue
            reason = str(failure.get("reason", "MISSING"))
            code = "ServiceNotFoundException" if reason == "MISSING" else reason
            result[ref] = NotFoundError(
                "describing service", code, str(failure.get("detail") or reason), resource=ref.key
            )
        for ref in refs:
            if ref not in result:
                result[ref] = NotFoundError(
                    "describing service", "ServiceNotFoundException", "not returned", resource=ref.key
                )
        return result

    def task_definition(self, where: ServiceRef, arn: str) -> TaskDefinition:
        """Return a task-definition revision with its tags, in the region and account of `where`."""
        with aws_errors("describing task definition", arn):
            found = self._client(where).describe_task_definition(taskDefinition=arn, include=["TAGS"])
        body = dict(found["taskDefinition"])
        tags = tuple({"key": str(t.get("key", "")), "value": str(t.get("value", ""))} for t in found.get("tags", []))
        return TaskDefinition(str(body.get("taskDefinitionArn", arn)), body, tags)

    def register(self, where: ServiceRef, params: Mapping[str, Any]) -> str:
        """Register a task-definition revision in the region and account of `where`; return its ARN."""
        kwargs = dict(params)
        if not kwargs.get("tags"):
            kwargs.pop("tags", None)  # RegisterTaskDefinition rejects an empty tag list
        with aws_errors("registering task definition", str(params.get("family"))):
            found = self._client(where).register_task_definition(**kwargs)
        return str(found["taskDefinition"]["taskDefinitionArn"])

    def update(
        self,
        ref: ServiceRef,
        *,
        task_definition: str | None = None,
        force: bool = False,
        deployment: Mapping[str, Any] | None = None,
    ) -> Deployment | None:
        """Start a deployment (new task definition, or forced; `deployment` the deploymentConfiguration to set in the
        same call); return the new PRIMARY deployment."""
        kwargs: dict[str, Any] = {"cluster": ref.cluster, "service": ref.service}
        if task_definition is not None:
            kwargs["taskDefinition"] = task_definition
        if force:
            kwargs["forceNewDeployment"] = True
        if deployment is not None:
            kwargs["deploymentConfiguration"] = dict(deployment)
        with aws_errors("updating service", ref.key):
            found = self._client(ref).update_service(**kwargs)
        return service_from(found["service"], ref).primary

    def deregister(self, where: ServiceRef, arn: str) -> None:
        """Deregister a revision (one this tool registered for a deployment that did not start)."""
        with aws_errors("deregistering task definition", arn):
            self._client(where).deregister_task_definition(taskDefinition=arn)

    def task_digests(self, ref: ServiceRef) -> dict[str, tuple[str, ...]]:
        """Return the image digests the service's running tasks report (ECS resolved them), per container."""
        client = self._client(ref)
        with aws_errors("listing tasks", ref.key):
            arns = [
                arn
                for page in client.get_paginator("list_tasks").paginate(
                    cluster=ref.cluster, serviceName=ref.service, desiredStatus="RUNNING"
                )
                for arn in page.get("taskArns", [])
            ]
        digests: dict[str, set[str]] = {}
        for start in range(0, len(arns), DESCRIBE_TASKS_BATCH):
            with aws_errors("describing tasks", ref.key):
                found = client.describe_tasks(cluster=ref.cluster, tasks=arns[start : start + DESCRIBE_TASKS_BATCH])
            for task in found.get("tasks", []):
                for container in task.get("containers", []):
                    if container.get("imageDigest"):
                        digests.setdefault(str(container.get("name")), set()).add(str(container["imageDigest"]))
        return {name: tuple(sorted(found)) for name, found in digests.items()}


def service_from(svc: Mapping[str, Any], ref: ServiceRef) -> Service:
    """Return the Service of a DescribeServices (or UpdateService) entry."""
    config = dict(svc.get("deploymentConfiguration") or {})
    breaker = config.get("deploymentCircuitBreaker") or {}
    current = svc.get("currentServiceDeployment")
    return Service(
        ref=ref,
        arn=str(svc.get("serviceArn", "")),
        task_definition_arn=str(svc.get("taskDefinition", "")),
        deployments=tuple(deployment_from(d) for d in svc.get("deployments", [])),
        desired_count=int(svc.get("desiredCount", 0)),
        circuit_breaker=bool(breaker.get("enable", False)),
        circuit_breaker_rollback=bool(breaker.get("rollback", False)),
        deployment_controller=str((svc.get("deploymentController") or {}).get("type") or "ECS"),
        strategy=str(config.get("strategy") or "ROLLING"),
        deployment_configuration=config,
        current_service_deployment=str(current) if current else None,
        managed_by=str(svc["resourceManagementType"]) if svc.get("resourceManagementType") else None,
    )


def deployment_from(d: Mapping[str, Any]) -> Deployment:
    """Return a Deployment from a DescribeServices deployments[] entry."""
    when = d.get("updatedAt") or d.get("createdAt")
    return Deployment(
        id=str(d.get("id", "")),
        status=str(d.get("status", "")),
        task_definition=str(d.get("taskDefinition", "")),
        rollout_state=d.get("rolloutState"),
        rollout_reason=d.get("rolloutStateReason"),
        running=int(d.get("runningCount", 0)),
        desired=int(d.get("desiredCount", 0)),
        pending=int(d.get("pendingCount", 0)),
        failed_tasks=int(d.get("failedTasks", 0)),
        updated_at=when if hasattr(when, "timestamp") else None,
        created_at=d["createdAt"] if hasattr(d.get("createdAt"), "timestamp") else None,
    )
