"""Mapping: which ECS services an image of a repository goes to, from the rules or the seed regexes.

Rules mode: every rule whose `repository` matches contributes its targets, with {templates} filled from the
match; a target key (region/cluster/service) is kept once, the first rule wins. Seed mode: group 1 of the
service and cluster regexes, searched in the repository ARN. A repository nothing maps is a Skip, not an error.
The tag policy is not applied here (the tag may still have to be resolved from ECR); each Target carries it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import field
from functools import cached_property

from ecr_autodeploy.core.config import Config, Rule, SeedRegexes, Strategy, TargetSpec, name_problem
from ecr_autodeploy.core.gate_rules import GateSettings
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.ordering import Ordering
from ecr_autodeploy.core.strategies import DeploymentSettings
from ecr_autodeploy.core.tags import TagPolicy
from ecr_autodeploy.core.values import frozen

# Seed mode follows the tag each container names (the original re-pulled that tag); untagged manifests are refused.
SEED_TAG_POLICY = TagPolicy()
DEFAULT_CLUSTER = "default"  # ECS's cluster when none is named


@frozen
class Target:
    """One ECS service to deploy the image to, with the rule's strategy and tag policy."""

    cluster: str
    service: str
    region: str
    role_arn: str | None
    containers: tuple[str, ...] | None
    strategy: Strategy
    tags: TagPolicy
    allow_downgrade: bool
    rollback: bool
    rule: int | None
    order: Ordering = field(default_factory=Ordering)
    # Without a tags: allow-list a container follows the tag its image named (core/following.py).
    follow: bool = False
    allow_single_platform: bool = False
    deployment: DeploymentSettings | None = None  # the rule's deployment: block (None: the service's own)
    gates: GateSettings | None = None  # the rule's gates (core.gate_rules)
    after: ServiceRef | None = None  # promotion: the service whose completed rollouts this one takes
    soak: float = 0.0  # seconds an image must have run there since its rollout completed

    @property
    def gated(self) -> bool:
        """Return True when a deploy to this target passes a gate (core/gates.py) first."""
        return self.gates is not None or self.after is not None

    @cached_property
    def ref(self) -> ServiceRef:
        """Return where the service lives."""
        return ServiceRef(self.region, self.cluster, self.service, self.role_arn)

    @property
    def key(self) -> str:
        """Return ``region/cluster/service``, which identifies the service across rules."""
        return self.ref.key


@frozen
class Skip:
    """A repository, or one target of a rule, that maps to nothing deployable, with the reason."""

    reason: str
    rule: int | None


def map_repository(
    config: Config, repository: str, repository_arn: str, event_region: str
) -> tuple[list[Target], list[Skip]]:
    """Return the targets an image of `repository` goes to, and the skips with their reasons."""
    if config.rules:
        return _map_rules(config.rules, repository, event_region)
    if config.seed is not None:
        return _map_seed(config.seed, repository_arn, event_region)
    return [], [Skip(f"{config.source} has no rules, so repository {repository!r} maps to nothing", None)]


def _map_seed(seed: SeedRegexes, repository_arn: str, event_region: str) -> tuple[list[Target], list[Skip]]:
    service = seed.service.search(repository_arn)
    # Without a cluster regex the original Lambda (like `aws ecs update-service`) used the default cluster.
    cluster = seed.cluster.search(repository_arn) if seed.cluster is not None else None
    regexes = [("service", seed.service, service)]
    if seed.cluster is not None:
        regexes.append(("cluster", seed.cluster, cluster))
    missed = [f"{what} regex {regex.pattern!r}" for what, regex, found in regexes if found is None]
    if missed:
        return [], [Skip(f"{' and '.join(missed)} did not match repository ARN {repository_arn!r}", None)]
    names: dict[str, str] = {"cluster": DEFAULT_CLUSTER}
    for what, found in (("cluster", cluster), ("service", service)):
        if found is None:
            continue
        value = found.group(1) or ""
        problem = name_problem(value, what)
        if problem is not None:
            return [], [Skip(f"{what} regex group 1 on repository ARN {repository_arn!r}: {problem}", None)]
        names[what] = value
    target = Target(
        cluster=names["cluster"],
        service=names["service"],
        region=event_region,
        role_arn=None,
        containers=None,
        strategy=seed.strategy,
        tags=SEED_TAG_POLICY,
        allow_downgrade=False,
        rollback=False,
        rule=None,
        follow=True,
    )
    return [target], []


def _map_rules(rules: tuple[Rule, ...], repository: str, event_region: str) -> tuple[list[Target], list[Skip]]:
    targets: dict[str, Target] = {}
    skips: list[Skip] = []
    matched = False
    for rule in rules:
        variables = rule.match(repository)
        if variables is None:
            continue
        matched = True
        for i, spec in enumerate(rule.targets):
            target = _render(rule, i, spec, variables, event_region)
            if isinstance(target, Skip):
                skips.append(target)
            elif target.key in targets:
                first = targets[target.key].rule
                reason = f"rules[{rule.index}].targets[{i}]: {target.key} is already a target of rules[{first}]"
                skips.append(Skip(reason, rule.index))
            else:
                targets[target.key] = target
    if not matched:
        return [], [Skip(f"no rule matches repository {repository!r}", None)]
    return list(targets.values()), skips


def _render(rule: Rule, i: int, spec: TargetSpec, variables: Mapping[str, str], region: str) -> Target | Skip:
    where = f"rules[{rule.index}].targets[{i}]"
    names: list[str] = []
    templates = [("cluster", spec.cluster), ("service", spec.service)]
    templates += [("container", c) for c in spec.containers or ()]
    if spec.after is not None:
        templates += [("after cluster", spec.after.cluster), ("after service", spec.after.service)]
    for what, template in templates:
        try:
            value = template.format_map(variables)
        except (KeyError, IndexError, ValueError) as exc:
            # parse_config rules these out; a Rule built by hand may still carry one.
            return Skip(f"{where}: {what} template {template!r} cannot be filled: {exc!r}", rule.index)
        problem = name_problem(value, what.removeprefix("after "))
        if problem is not None:
            return Skip(f"{where}: {what} template {template!r} gave an invalid name: {problem}", rule.index)
        names.append(value)
    after = None
    if spec.after is not None:
        *names, after_cluster, after_service = names
        after = ServiceRef(spec.after.region or spec.region or region, after_cluster, after_service)
    return Target(
        cluster=names[0],
        service=names[1],
        region=spec.region or region,
        role_arn=spec.role_arn,
        containers=tuple(dict.fromkeys(names[2:])) if spec.containers is not None else None,
        strategy=rule.strategy,
        tags=rule.tags,
        allow_downgrade=rule.allow_downgrade,
        rollback=rule.rollback,
        rule=rule.index,
        order=Ordering(rule.order, rule.tags),
        follow=not rule.tags.allow,
        allow_single_platform=rule.allow_single_platform,
        deployment=rule.deployment,
        gates=rule.gates,
        after=after,
        soak=spec.soak,
    )
