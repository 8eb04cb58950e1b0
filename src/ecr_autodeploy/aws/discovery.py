"""What install reads from the account before it writes: the caller's site, and the mapped services' access.

The task-definition families and the task/execution roles of the services the rules deploy to are only known to
ECS, so they are read from the services' current task definitions. A target with templates (or seed mode)
matches the services that exist now, and a service counts only when one of its containers runs an image of a
repository the rules map to that very service: a ``{service}`` template on a shared cluster does not pull in
another team's service (and its role). What is left out is reported in `notes`: a service that does not exist
yet (install must run again after it is created, or its deploys are denied) and one no rule maps.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.aws.ecs import DESCRIBE_SERVICES_BATCH, Cluster
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.errors import AwsError, NotFoundError
from ecr_autodeploy.core.events import repository_arn
from ecr_autodeploy.core.iam import TaskAccess
from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.mapping import map_repository
from ecr_autodeploy.core.model import Service, ServiceRef
from ecr_autodeploy.core.scopes import ServiceScope, service_scopes
from ecr_autodeploy.core.stack import Site
from ecr_autodeploy.core.values import frozen

_ROLE_KEYS = ("taskRoleArn", "executionRoleArn")


@frozen
class Discovery:
    """The access deploying needs, and notes on the services it could not read or left out."""

    access: TaskAccess
    notes: tuple[str, ...] = ()


def caller_site(clients: Clients) -> Site:
    """Return the site of the caller: the clients' region and the account STS names."""
    region = clients.region
    with aws_errors("getting caller identity"):
        account = str(clients.client("sts").get_caller_identity()["Account"])
    return Site.of(region, account)


def discover_task_access(clients: Clients, config: Config, site: Site) -> Discovery:
    """Return the families and roles of the services the rules deploy to in the caller's account; raise AwsError."""
    cluster = Cluster(clients)
    pinned: set[tuple[str | None, str]] = set()
    forced: set[tuple[str | None, str]] = set()
    roles: set[str] = set()
    notes: list[str] = []
    scopes = [s for s in service_scopes(config) if s.role_arn is None]
    seen: set[str] = set()
    for scope in scopes:
        region = scope.where(site.region)
        matched = 0
        for cluster_name, names in _services_of(clients, scope, region):
            for ref, described in _describe(cluster, [ServiceRef(region, cluster_name, n) for n in names]).items():
                where, name = ref.key, ref.service
                if isinstance(described, AwsError):
                    notes.append(f"{where}: {described.code}: not in the policy until install runs again")
                    continue
                task_definition = cluster.task_definition(ref, described.task_definition_arn).body
                strategies = _mapped_strategies(config, site, region, cluster_name, name, task_definition)
                if not strategies:
                    if where not in seen:
                        notes.append(f"{where}: no container runs an image the rules map to it; left out of the policy")
                    seen.add(where)
                    continue
                matched += 1
                family = (scope.region, str(task_definition["family"]))
                (pinned if "pin" in strategies else forced).add(family)
                if "pin" in strategies:
                    roles.update(
                        _role_arn(str(task_definition[key]), site) for key in _ROLE_KEYS if task_definition.get(key)
                    )
        if not scope.exact and matched == 0:
            notes.append(f"{region}/{scope.cluster}/{scope.service}: no service matches yet")
    if not all(scope.exact for scope in scopes):
        notes.append(
            "templated targets (or seed mode) are granted the services that exist now: run install again after "
            "creating a service, or name its families and pass_roles in the rules"
        )
    access = TaskAccess(_sorted(pinned), tuple(sorted(roles)), True, _sorted(forced - pinned))
    return Discovery(access, tuple(notes))


def _sorted(families: set[tuple[str | None, str]]) -> tuple[tuple[str | None, str], ...]:
    return tuple(sorted(families, key=lambda item: (item[0] or "", item[1])))


def _mapped_strategies(
    config: Config, site: Site, region: str, cluster: str, service: str, task_definition: Mapping[str, Any]
) -> set[str]:
    """Return the strategies with which the rules deploy some container image of this service to this service."""
    strategies: set[str] = set()
    for container in task_definition.get("containerDefinitions", []):
        host, repository, _tag, _digest = split_image(str(container.get("image", "")))
        account, image_region = (host.split(".")[0], host.split(".")[3]) if host else (site.account, site.region)
        arn = repository_arn(account, image_region, repository)
        targets, _skips = map_repository(config, repository, arn, site.region)
        strategies.update(
            t.strategy
            for t in targets
            if t.role_arn is None and (t.region, t.cluster, t.service) == (region, cluster, service)
        )
    return strategies


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
        try:
            with aws_errors("listing services", f"{region}/{name}"):
                # ListServices returns 10 a page unless asked for its maximum, 100.
                pages = ecs.get_paginator("list_services").paginate(cluster=name, PaginationConfig={"PageSize": 100})
                arns = [a for page in pages for a in page["serviceArns"]]
        except NotFoundError:
            continue  # the cluster does not exist (yet): no service of it matches
        services = [n for n in (a.rsplit("/", 1)[-1] for a in arns) if fnmatch.fnmatchcase(n, scope.service)]
        if services:
            yield name, services


def _describe(cluster: Cluster, refs: list[ServiceRef]) -> dict[ServiceRef, Service | AwsError]:
    """Return each service, 10 a DescribeServices call, every call at once; a missing cluster fails its services."""
    batches = [refs[i : i + DESCRIBE_SERVICES_BATCH] for i in range(0, len(refs), DESCRIBE_SERVICES_BATCH)]

    def one(batch: list[ServiceRef]) -> dict[ServiceRef, Service | AwsError]:
        try:
            return dict(cluster.services(batch))
        except NotFoundError as err:  # the cluster itself is missing
            return dict.fromkeys(batch, err)

    found: dict[ServiceRef, Service | AwsError] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(16, len(batches)))) as pool:
        for answer in pool.map(one, batches):
            found.update(answer)
    return found


def _role_arn(role: str, site: Site) -> str:
    """Return a role's ARN; a task definition may name its roles by name only."""
    return role if role.startswith("arn:") else site.arn("iam", f"role/{role}", region="")
