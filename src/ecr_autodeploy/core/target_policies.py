"""What a cross-account target needs in its own account: the target role's permissions and trust, and the
repository policy that lets that account pull the images.

For each ``role_arn`` of the rules (a role in the target account, which the function assumes):
  * ``permissions``: deploying to that account's services only (core.ecs_grants), with the families and roles
    the rules name for its targets (``families``, ``pass_roles``: they cannot be read from here);
  * ``trust``: exactly the function's role may assume it, and only with the rules' ``role_external_id``
    (``sts:ExternalId``), so nothing else that learns the role's name can use it;
  * ``repository_policy``: set on the repositories the rules match (in the function's account, where the images
    arrive), letting the target account's task execution roles pull (``ecr:BatchGetImage``,
    ``ecr:GetDownloadUrlForLayer``, ``ecr:BatchCheckLayerAvailability``); those roles also need
    ``ecr:GetAuthorizationToken`` and the same three actions on these repositories in their own policies.
"""

from __future__ import annotations

from typing import Any

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.ecs_grants import ecs_statements
from ecr_autodeploy.core.policy import Policy, document
from ecr_autodeploy.core.scopes import repository_pattern, service_scopes
from ecr_autodeploy.core.stack import Site, Stack
from ecr_autodeploy.core.task_access import named_access, unnamed_pinned_targets
from ecr_autodeploy.core.values import frozen

PULL_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer")


@frozen
class TargetRole:
    """One cross-account target role: its ARN and account, its ExternalId, and the function's role it trusts."""

    arn: str
    external_id: str | None

    @property
    def account(self) -> str:
        return self.arn.split(":")[4]

    @property
    def name_with_path(self) -> str:
        """Return ``path/name`` as in the ARN after ``role/``."""
        return self.arn.split(":role/", 1)[1]


def target_roles(config: Config) -> tuple[TargetRole, ...]:
    """Return the rules' cross-account target roles, in the order of the rules."""
    found: dict[str, TargetRole] = {}
    for rule in config.rules:
        for target in rule.targets:
            if target.role_arn is not None and target.role_arn not in found:
                found[target.role_arn] = TargetRole(target.role_arn, target.role_external_id)
    return tuple(found.values())


def target_permissions(config: Config, role: TargetRole, site: Site) -> Policy:
    """Return the target role's permission policy, at `site` (the target account, or its pseudo parameters)."""
    # The target's services are in its own account; a target without region is in the install region (site's).
    scopes = [s for s in service_scopes(config) if s.role_arn == role.arn]
    access = named_access(config, role.arn)
    return document(ecs_statements(site, scopes, access.families, access.forced_families, access.roles))


def target_trust(role: TargetRole, stack: Stack) -> Policy:
    """Return the target role's trust policy: exactly the function's role, with the ExternalId when set."""
    trust: dict[str, Any] = {
        "Sid": "FunctionRole",
        "Effect": "Allow",
        "Principal": {"AWS": stack.role_arn},
        "Action": "sts:AssumeRole",
    }
    if role.external_id is not None:
        trust["Condition"] = {"StringEquals": {"sts:ExternalId": role.external_id}}
    return document([trust])


def repository_policy(config: Config, role: TargetRole) -> Policy:
    """Return the repository policy letting the target account pull the images of the repositories it deploys."""
    principals = [r for r in named_access(config, role.arn).roles if not r.endswith("*")]
    principal = principals or [f"arn:{role.arn.split(':')[1]}:iam::{role.account}:root"]
    return document(
        [
            {
                "Sid": f"Pull{role.account}",
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": sorted(PULL_ACTIONS),
            }
        ]
    )


def repositories_of(config: Config, role: TargetRole, stack: Stack) -> list[str]:
    """Return the repository ARN patterns (in the function's account) the role's targets deploy images of."""
    found = [
        stack.site.arn("ecr", f"repository/{repository_pattern(rule.repository)}")
        for rule in config.rules
        if any(t.role_arn == role.arn for t in rule.targets)
    ]
    return list(dict.fromkeys(found))


def target_policies(config: Config, stack: Stack) -> dict[str, Any]:
    """Return, per target role ARN, its permissions, trust, repository policy and what is left for people to name."""
    found: dict[str, Any] = {}
    for role in target_roles(config):
        site = Site(stack.site.partition, stack.site.region, role.account)
        notes = [
            f"{where}: name families and pass_roles for this role's account, or pinned deploys there are denied"
            for where in unnamed_pinned_targets(config, role.arn)
        ]
        if role.external_id is None:
            notes.append("no role_external_id: the trust policy has no sts:ExternalId condition; set one")
        found[role.arn] = {
            "permissions": target_permissions(config, role, site),
            "trust": target_trust(role, stack),
            "repository_policy": {
                "repositories": repositories_of(config, role, stack),
                "policy": repository_policy(config, role),
            },
            "notes": notes,
        }
    return found
