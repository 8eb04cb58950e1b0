"""What deploying needs to know of the services beyond the rules: families and roles, read or named.

Discovery (aws.discovery) reads them from the services' task definitions; the rules may name them per target
(``families``, ``pass_roles``) or in the seed block, which is the only way for `--no-discover` and for
cross-account targets (the installer cannot read another account).
"""

from __future__ import annotations

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.ecs_grants import Family
from ecr_autodeploy.core.values import frozen


@frozen
class TaskAccess:
    """What deploying needs to know of the services: the families it registers revisions of (pinned) or only
    redeploys (forced), and the roles pinned revisions pass; `known` False when nothing was looked up."""

    families: tuple[Family, ...] = ()  # pinned services' families: (region, family); region None: install region
    roles: tuple[str, ...] = ()
    known: bool = True
    forced_families: tuple[Family, ...] = ()

    @classmethod
    def unknown(cls) -> TaskAccess:
        """Return the access of services that were not looked up (only what the rules name is granted)."""
        return cls(known=False)


def named_access(config: Config, role_arn: str | None = None) -> TaskAccess:
    """Return the families and roles the rules name for the targets reached through `role_arn` (None: local)."""
    pinned: list[Family] = []
    forced: list[Family] = []
    roles: list[str] = []
    if config.seed is not None and not config.rules and role_arn is None:
        into = pinned if config.seed.strategy == "pin" else forced
        into += [(None, family) for family in config.seed.families or ()]
        roles += config.seed.pass_roles or ()
    for rule in config.rules:
        for target in rule.targets:
            if target.role_arn != role_arn:
                continue
            into = pinned if rule.strategy == "pin" else forced
            into += [(target.region, family) for family in target.families or ()]
            if rule.strategy == "pin":
                roles += target.pass_roles or ()
    return TaskAccess(tuple(dict.fromkeys(pinned)), tuple(dict.fromkeys(roles)), True, tuple(dict.fromkeys(forced)))


def merged(*accesses: TaskAccess) -> TaskAccess:
    """Return the union of several accesses (known when any of them was looked up or named)."""
    return TaskAccess(
        tuple(dict.fromkeys(f for a in accesses for f in a.families)),
        tuple(dict.fromkeys(r for a in accesses for r in a.roles)),
        any(a.known for a in accesses),
        tuple(dict.fromkeys(f for a in accesses for f in a.forced_families)),
    )


def unnamed_pinned_targets(config: Config, role_arn: str | None = None) -> list[str]:
    """Return the pinned targets (reached through `role_arn`) whose rules name no families or no pass_roles."""
    if config.seed is not None and not config.rules:
        seed = config.seed
        lacking = seed.strategy == "pin" and role_arn is None and not (seed.families and seed.pass_roles)
        return ["seed"] if lacking else []
    return [
        f"rules[{rule.index}].targets[{i}] ({target.cluster}/{target.service})"
        for rule in config.rules
        if rule.strategy == "pin"
        for i, target in enumerate(rule.targets)
        if target.role_arn == role_arn and not (target.families and target.pass_roles)
    ]
