"""What install reads from the account before it writes: the caller's site, and the pinned services' access.

The task-definition families and the task/execution roles of the services the rules pin are only known to ECS,
so they are read from the services' current task definitions. A target with templates matches the services
that exist now; a service that does not exist yet is reported in `notes` (install must run again after it
is created, or its deploys are denied).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.aws.ecs import DESCRIBE_SERVICES_BATCH, Cluster
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.errors import AwsError, NotFoundError
from ecr_autodeploy.core.iam import TaskAccess
from ecr_autodeploy.core.model import Service, ServiceRef
from ecr_autodeploy.core.scopes import ServiceScope, service_scopes
from ecr_autodeploy.core.stack import Site


@dataclass(frozen=True)
class Discovery:
    """The access pinning needs, and notes on the services it could not read."""

    access: TaskAccess
    notes: tuple[str, ...] = ()


def caller_site(clients: Clients) -> Site:
    """Return the site of the caller: the clients' region and the account STS names."""
    region = clients.region
    with aws_errors("getting caller identity"):
        account = str(clients.client("sts").get_caller_identity()["Account"])
    return Site.of(region, account)


def discover_task_access(clients: Clients, config: Config, site: Site) -> Discovery:
    """Return the families and roles of the services the rules pin in the caller's account; raise AwsError."""
    cluster = Cluster(clients)
    families: set[tuple[str | None, str]] = set()
    roles: set[str] = set()
    notes: list[str] = []
    scopes = [s for s in service_scopes(config) if s.role_arn is None and s.strategy == "pin"]
    for scope in scopes:
        region = scope.where(site.region)
        matched = 0
        for cluster_name, names in _services_of(clients, scope, region):
            refs = [ServiceRef(region, cluster_name, name) for name in names]
            found: dict[ServiceRef, Service | AwsError] = {}
            for start in range(0, len(refs), DESCRIBE_SERVICES_BATCH):
                batch = refs[start : start + DESCRIBE_SERVICES_BATCH]
                try:
                    found.update(cluster.services(batch))
                except NotFoundError as err:  # the cluster itself is missing
                    found.update(dict.fromkeys(batch, err))
            for ref, described in found.items():
                if isinstance(described, AwsError):
                    notes.append(f"{ref.key}: {described.code}: not in the policy until install runs again")
                    continue
                matched += 1
                task_definition = cluster.task_definition(ref, described.task_definition_arn)
                families.add((scope.region, task_definition.family))
                for key in ("taskRoleArn", "executionRoleArn"):
                    role = task_definition.body.get(key)
                    if role:
                        roles.add(_role_arn(str(role), site))
        if not scope.exact and matched == 0:
            notes.append(f"{region}/{scope.cluster}/{scope.service}: no service matches yet")
    ordered = tuple(sorted(families, key=lambda item: (item[0] or "", item[1])))
    return Discovery(TaskAccess(ordered, tuple(sorted(roles))), tuple(notes))


def _services_of(clients: Clients, scope: ServiceScope, region: str) -> Iterator[tuple[str, list[str]]]:
    """Yield (cluster, service names) for a scope: the names themselves, or the existing ones a pattern matches."""
    if scope.exact:
        yield scope.cluster, [scope.service]
        return
    ecs = clients.ecs(region)
    clusters = [scope.cluster]
    if "*" in scope.cluster:
        with aws_errors("listing clusters", region):
            arns = [a for page in ecs.get_paginator("list_clusters").paginate() for a in page["clusterArns"]]
        clusters = [n for n in (a.rsplit("/", 1)[-1] for a in arns) if fnmatch.fnmatchcase(n, scope.cluster)]
    for name in clusters:
        if "*" not in scope.service:
            yield name, [scope.service]
            continue
        with aws_errors("listing services", f"{region}/{name}"):
            arns = [
                a for page in ecs.get_paginator("list_services").paginate(cluster=name) for a in page["serviceArns"]
            ]
        services = [n for n in (a.rsplit("/", 1)[-1] for a in arns) if fnmatch.fnmatchcase(n, scope.service)]
        if services:
            yield name, services


def _role_arn(role: str, site: Site) -> str:
    """Return a role's ARN; a task definition may name its roles by name only."""
    return role if role.startswith("arn:") else site.arn("iam", f"role/{role}", region="")
