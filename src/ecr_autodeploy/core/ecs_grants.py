"""What deploying to ECS services needs in one account: the statements the function's role (for its own account)
and each cross-account target role (for its account) hold.

  * ``ecs:DescribeServices`` on the services; ``ecs:UpdateService`` on them only when the task definition it sets
    (``ecs:task-definition``) is a revision of the families pinning registers: a pinned deploy always sets one, a
    forced deploy sets none (``...IfExists``), and its rollback one of its own family's revisions;
  * ``ecs:DescribeTaskDefinition`` (no resource-level permissions: ``*``);
  * ``ecs:RegisterTaskDefinition`` and, while registering, ``ecs:TagResource`` on the pinned families;
  * ``iam:PassRole`` of the pinned services' task and execution roles, only to ``ecs-tasks.amazonaws.com``;
  * ``ecs:DeregisterTaskDefinition`` (no resource-level permissions): a revision registered for an UpdateService
    that then failed is taken back, so nothing is left half-done;
  * the Service Deployments API on the services, their service deployments and revisions (List, Describe,
    DescribeServiceRevisions: to judge a rollout as ECS does), StopServiceDeployment only where a rule rolls back;
  * for forced services, ``ecs:ListTasks`` (conditioned on their clusters) and ``ecs:DescribeTasks`` on their
    clusters' tasks: what a forced service runs is the digest its tasks report.
Families and roles come from the live services (aws.discovery) or from the rules (``families``/``pass_roles``);
without them a pinned service gets no Register/PassRole grant (its deploys are denied), never a wildcard.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ecr_autodeploy.core.policy import ECS_TASKS, statement
from ecr_autodeploy.core.scopes import ServiceScope
from ecr_autodeploy.core.stack import Site

Family = tuple[str | None, str]  # (region, family or "prefix*"); region None: the install region


def family_arn(site: Site, region: str | None, family: str) -> str:
    """Return the ARN pattern of a family's revisions (a ``prefix*`` family covers every family it starts)."""
    resource = f"task-definition/{family}" if family.endswith("*") else f"task-definition/{family}:*"
    return site.arn("ecs", resource, region=region)


def service_arn_patterns(site: Site, scopes: Iterable[ServiceScope]) -> list[str]:
    """Return the long-form service ARNs (or patterns) of the scopes, at `site`."""
    return list(dict.fromkeys(site.arn("ecs", f"service/{s.cluster}/{s.service}", region=s.region) for s in scopes))


def ecs_statements(
    site: Site,
    scopes: Sequence[ServiceScope],
    pinned_families: Sequence[Family],
    forced_families: Sequence[Family],
    roles: Sequence[str],
) -> list[dict[str, Any]]:
    """Return the statements deploying to `scopes` at `site` needs (empty without scopes)."""
    if not scopes:
        return []
    pinned = [s for s in scopes if s.strategy == "pin"]
    forced = [s for s in scopes if s.strategy == "force"]
    registered = list(dict.fromkeys(family_arn(site, region, f) for region, f in pinned_families))
    known = list(dict.fromkeys([*registered, *(family_arn(site, region, f) for region, f in forced_families)]))
    found = [statement("DescribeServices", ["ecs:DescribeServices"], service_arn_patterns(site, scopes))]
    if pinned and registered:
        found.append(
            statement(
                "UpdatePinnedServices",
                ["ecs:UpdateService"],
                service_arn_patterns(site, pinned),
                {"ArnLike": {"ecs:task-definition": registered}},
            )
        )
    if forced:
        # A forced deploy sets no task definition; a rollback sets a revision of the service's own family.
        condition = (
            {"ArnLikeIfExists": {"ecs:task-definition": known}} if known else {"Null": {"ecs:task-definition": "true"}}
        )
        found.append(
            statement("UpdateForcedServices", ["ecs:UpdateService"], service_arn_patterns(site, forced), condition)
        )
    # DescribeTaskDefinition has no resource-level permissions.
    found.append(statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition"], ["*"]))
    if pinned and registered:
        found.append(statement("RegisterTaskDefinitions", ["ecs:RegisterTaskDefinition"], registered))
        # Registering with tags is authorised as ecs:TagResource too (tag-on-create).
        found.append(
            statement(
                "TagNewRevisions",
                ["ecs:TagResource"],
                registered,
                {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
            )
        )
    if pinned and roles:
        found.append(
            statement("PassTaskRoles", ["iam:PassRole"], roles, {"StringEquals": {"iam:PassedToService": ECS_TASKS}})
        )
    if pinned and registered:
        # Only the revision the function just registered, when its UpdateService failed (no resource scoping).
        found.append(statement("TakeBackUnusedRevisions", ["ecs:DeregisterTaskDefinition"], ["*"]))
    found.extend(service_deployment_statements(site, scopes))
    if forced:
        clusters = list(dict.fromkeys(site.arn("ecs", f"cluster/{s.cluster}", region=s.region) for s in forced))
        found.append(statement("ListForcedTasks", ["ecs:ListTasks"], ["*"], {"ArnLike": {"ecs:cluster": clusters}}))
        tasks = list(dict.fromkeys(site.arn("ecs", f"task/{s.cluster}/*", region=s.region) for s in forced))
        found.append(statement("DescribeForcedTasks", ["ecs:DescribeTasks"], tasks))
    return found


def service_deployment_statements(site: Site, scopes: Sequence[ServiceScope]) -> list[dict[str, Any]]:
    """Return the Service Deployments grants: follow the services' deployments; stop them where a rule rolls back.

    The authorization reference names both the service and the service deployment (or revision) as resources of
    the Describe calls, so both are granted. ContinueServiceDeployment is a person's (``continue``), not granted.
    """
    services = service_arn_patterns(site, scopes)

    def of(kind: str, chosen: Sequence[ServiceScope]) -> list[str]:
        return list(
            dict.fromkeys(site.arn("ecs", f"{kind}/{s.cluster}/{s.service}/*", region=s.region) for s in chosen)
        )

    # One statement: each action takes the service, and Describe also its deployments or revisions.
    found = [
        statement(
            "FollowServiceDeployments",
            ["ecs:ListServiceDeployments", "ecs:DescribeServiceDeployments", "ecs:DescribeServiceRevisions"],
            [*services, *of("service-deployment", scopes), *of("service-revision", scopes)],
        )
    ]
    rolling_back = [s for s in scopes if s.rollback]
    if rolling_back:
        found.append(
            statement(
                "StopServiceDeployments",
                ["ecs:StopServiceDeployment"],
                [*service_arn_patterns(site, rolling_back), *of("service-deployment", rolling_back)],
            )
        )
    return found
