"""ECS adapter: read services and task definitions, register revisions, start deployments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.errors import AwsError, NotFoundError
from ecr_autodeploy.core.planning import Deployment, ServiceState

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

DESCRIBE_SERVICES_BATCH = 10  # DescribeServices takes at most 10 services per call


class Cluster:
    """ECS calls of the deploy path, per region and (for cross-account targets) assumed role."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients

    def _client(self, region: str, role_arn: str | None) -> ECSClient:
        return self._clients.ecs(region, role_arn)

    def services(
        self, region: str, role_arn: str | None, cluster: str, names: Sequence[str]
    ) -> dict[str, dict[str, Any] | NotFoundError]:
        """Return each named service's description, or the NotFoundError saying why it is missing."""
        client = self._client(region, role_arn)
        result: dict[str, dict[str, Any] | NotFoundError] = {}
        unique = list(dict.fromkeys(names))
        for start in range(0, len(unique), DESCRIBE_SERVICES_BATCH):
            batch = unique[start : start + DESCRIBE_SERVICES_BATCH]
            with aws_errors("describing services", f"{region}/{cluster}"):
                found = client.describe_services(cluster=cluster, services=batch)
            for svc in found.get("services", []):
                if svc.get("status") == "ACTIVE":
                    result[svc["serviceName"]] = dict(svc)
                else:
                    result[svc["serviceName"]] = NotFoundError(
                        "describing service",
                        "ServiceNotActiveException",
                        f"status {svc.get('status')}",
                        resource=f"{region}/{cluster}/{svc['serviceName']}",
                    )
            for failure in found.get("failures", []):
                name = str(failure.get("arn", "")).rsplit("/", 1)[-1]
                reason = str(failure.get("reason", "MISSING"))
                code = "ServiceNotFoundException" if reason == "MISSING" else reason
                result[name] = NotFoundError(
                    "describing service",
                    code,
                    str(failure.get("detail") or reason),
                    resource=f"{region}/{cluster}/{name}",
                )
        for name in unique:
            result.setdefault(
                name,
                NotFoundError(
                    "describing service",
                    "ServiceNotFoundException",
                    "not returned",
                    resource=f"{region}/{cluster}/{name}",
                ),
            )
        return result

    def task_definition(self, region: str, role_arn: str | None, arn: str) -> tuple[dict[str, Any], list[Any]]:
        """Return (task definition, its tags)."""
        client = self._client(region, role_arn)
        with aws_errors("describing task definition", arn):
            found = client.describe_task_definition(taskDefinition=arn, include=["TAGS"])
        return dict(found["taskDefinition"]), list(found.get("tags", []))

    def register(self, region: str, role_arn: str | None, params: Mapping[str, Any]) -> str:
        """Register a task-definition revision; return its ARN."""
        client = self._client(region, role_arn)
        kwargs = dict(params)
        if not kwargs.get("tags"):
            kwargs.pop("tags", None)  # RegisterTaskDefinition rejects an empty tag list
        with aws_errors("registering task definition", str(params.get("family"))):
            found = client.register_task_definition(**kwargs)
        return str(found["taskDefinition"]["taskDefinitionArn"])

    def update(
        self,
        region: str,
        role_arn: str | None,
        cluster: str,
        service: str,
        *,
        task_definition: str | None = None,
        force: bool = False,
    ) -> Deployment | None:
        """Start a deployment (new task definition, or forced); return the new PRIMARY deployment."""
        client = self._client(region, role_arn)
        kwargs: dict[str, Any] = {"cluster": cluster, "service": service}
        if task_definition is not None:
            kwargs["taskDefinition"] = task_definition
        if force:
            kwargs["forceNewDeployment"] = True
        with aws_errors("updating service", f"{region}/{cluster}/{service}"):
            found = client.update_service(**kwargs)
        return state_from(found["service"], region, cluster, {}, []).primary

    def describe(self, region: str, role_arn: str | None, cluster: str, service: str) -> dict[str, Any]:
        """Return one service's description; raise NotFoundError when it does not exist."""
        found = self.services(region, role_arn, cluster, [service])[service]
        if isinstance(found, AwsError):
            raise found
        return found


def state_from(
    svc: Mapping[str, Any], region: str, cluster: str, task_definition: Mapping[str, Any], tags: Sequence[Any]
) -> ServiceState:
    """Return the ServiceState of a DescribeServices entry."""
    breaker = svc.get("deploymentConfiguration", {}).get("deploymentCircuitBreaker", {})
    return ServiceState(
        cluster=cluster,
        service=str(svc["serviceName"]),
        region=region,
        arn=str(svc.get("serviceArn", "")),
        task_definition_arn=str(svc.get("taskDefinition", "")),
        task_definition=task_definition,
        task_definition_tags=tuple(tags),
        deployments=tuple(deployment_from(d) for d in svc.get("deployments", [])),
        circuit_breaker=bool(breaker.get("enable", False)),
        circuit_breaker_rollback=bool(breaker.get("rollback", False)),
    )


def deployment_from(d: Mapping[str, Any]) -> Deployment:
    """Return a Deployment from a DescribeServices deployments[] entry."""
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
    )
