"""The rules of a rules document: which repositories, which tags, how, and to which services.

    - repository: shop/api          # exact name | glob "shop/*" ("*" also matches "/") | "re:REGEX" (whole name)
      tags: ["v*"]                  # allow-list of tag patterns (see core.tags); absent: every tag
      exclude_tags: ["*-rc*"]
      untagged: false               # default false: an untagged push is usually one platform of a multi-arch image
      order: semver                 # semver | push-time | numeric | alphabetical (default: semver for a semver
                                    # tag policy, else push-time)
      strategy: pin                 # pin | force
      allow_downgrade: false
      allow_single_platform: false  # replace a multi-platform image index with a single-platform manifest
      rollback: false
      deployment: {strategy: CANARY, canary_percent: 10}   # ECS's own strategy (core.strategies)
      approval: required            # gates (core.gate_rules): approval, approvers, expires, windows,
      windows: ["Mon-Fri 09:00-16:00 Europe/Berlin"]       # hold_if_alarm, max_parallel; per target after, soak
      targets:                      # at least one; cluster, service and containers may use {templates}
        - {cluster: shop, service: "{service}", containers: [api], region: us-east-1, role_arn: arn:...}
Per target, for the IAM policies only (the deploy path never reads them): ``role_external_id`` (the
``sts:ExternalId`` the target role's trust requires), ``families`` (task-definition families, or prefixes
ending in ``*``, it may register revisions of) and ``pass_roles`` (task and execution role ARNs, or a role path
ending in ``/*``, it may pass to ECS): what `policy --no-discover` and cross-account targets cannot read.
Every key is checked, unknown keys are errors; each problem raises ConfigError naming the rule index and field.
"""

from __future__ import annotations

import fnmatch
import re
import string
from collections.abc import Mapping
from dataclasses import field
from typing import Literal

from ecr_autodeploy.core.events import REGION_RE, REPOSITORY_NAME_RE
from ecr_autodeploy.core.fields import Reader, clip, expected, kind_of
from ecr_autodeploy.core.gate_rules import GATE_KEYS, TARGET_GATE_KEYS, GateSettings, Upstream, parse_after, parse_gates
from ecr_autodeploy.core.lazy_re import Lazy
from ecr_autodeploy.core.ordering import ORDER_KINDS, OrderKind, default_order
from ecr_autodeploy.core.regex_safety import PROBLEM, nested_repeat
from ecr_autodeploy.core.strategies import DeploymentSettings, parse_deployment
from ecr_autodeploy.core.tags import TagPolicy, parse_tag_pattern
from ecr_autodeploy.core.values import frozen

Strategy = Literal["pin", "force"]
STRATEGIES: tuple[Strategy, ...] = ("pin", "force")

RULE_KEYS = (
    "repository",
    "tags",
    "exclude_tags",
    "untagged",
    "order",
    "strategy",
    "allow_downgrade",
    "allow_single_platform",
    "rollback",
    "deployment",
    *GATE_KEYS,
    "targets",
)
TARGET_KEYS = (
    "cluster",
    "service",
    "containers",
    "region",
    "role_arn",
    "role_external_id",
    "families",
    "pass_roles",
    *TARGET_GATE_KEYS,
)
BUILTIN_VARIABLES = ("repository",)

REGEX_PREFIX = "re:"
ROLE_ARN_RE = Lazy(r"arn:aws[a-z-]*:iam::\d{12}:role/(?:[A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}")
# sts:ExternalId: 2 to 1224 characters of letters, digits and +=,.@:/- (AssumeRole's own rule).
EXTERNAL_ID_RE = Lazy(r"[\w+=,.@:/-]{2,1224}", re.ASCII)
# A task-definition family (letters, digits, '-' and '_', at most 255), or such a prefix followed by "*".
FAMILY_RE = Lazy(r"[A-Za-z0-9_-]{1,255}\*?")
# A role ARN, or a role path prefix ending in "/*" (role/ecs-tasks/*).
PASS_ROLE_RE = Lazy(
    r"arn:aws[a-z-]*:iam::\d{12}:role/"
    r"(?:(?:[A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}|(?:[A-Za-z0-9_+=,.@-]+/)+\*)"
)
# ECS cluster, service and container names: letters, digits, hyphens and underscores, at most 255.
ECS_NAME_RE = Lazy(r"[A-Za-z0-9_-]{1,255}")
_ECS_NAME_CHARS = Lazy(r"[A-Za-z0-9_-]*")
# ECR's own rule for repository names (lower-case path components, at most 256 characters).
_REPOSITORY_GLOB_CHARS = Lazy(r"[a-z0-9._/\-*?\[\]!]*")
_GLOB_META = ("*", "?", "[")


@frozen
class TargetSpec:
    """One service a rule deploys to; cluster, service and containers may hold {variable} templates."""

    cluster: str
    service: str
    containers: tuple[str, ...] | None = None
    region: str | None = None
    role_arn: str | None = None
    role_external_id: str | None = None
    families: tuple[str, ...] | None = None
    pass_roles: tuple[str, ...] | None = None
    after: Upstream | None = None  # promotion: deploy only what completed on this service first
    soak: float = 0.0  # ... at least this many seconds ago


@frozen
class Rule:
    """A rules-document entry: which repositories, which tags, how, and to which services."""

    index: int
    repository: str
    tags: TagPolicy
    strategy: Strategy
    targets: tuple[TargetSpec, ...]
    allow_downgrade: bool = False
    rollback: bool = False
    order: OrderKind = "push-time"
    allow_single_platform: bool = False
    deployment: DeploymentSettings | None = None  # ECS's own strategy, applied in the UpdateService
    gates: GateSettings | None = None  # approval, windows, alarms, waves (core.gate_rules)
    _regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        regex = None
        if self.repository.startswith(REGEX_PREFIX):
            regex = re.compile(self.repository[len(REGEX_PREFIX) :])
        object.__setattr__(self, "_regex", regex)

    @property
    def variables(self) -> tuple[str, ...]:
        """Return the template variables a match provides: ``repository`` and the regex's named groups."""
        groups = tuple(self._regex.groupindex) if self._regex is not None else ()
        return BUILTIN_VARIABLES + groups

    def match(self, repository: str) -> dict[str, str] | None:
        """Return the template variables when `repository` matches this rule, else None."""
        if self._regex is not None:
            found = self._regex.fullmatch(repository)
            if found is None:
                return None
            # A named group that took no part in the match fills its templates with "".
            return {"repository": repository, **{k: v or "" for k, v in found.groupdict().items()}}
        if is_glob(self.repository):
            matched = fnmatch.fnmatchcase(repository, self.repository)
        else:
            matched = repository == self.repository
        return {"repository": repository} if matched else None


def is_glob(pattern: str) -> bool:
    """Return whether a repository pattern is a glob (as opposed to an exact name or a ``re:`` regex)."""
    return not pattern.startswith(REGEX_PREFIX) and any(ch in pattern for ch in _GLOB_META)


def name_problem(value: str, what: str) -> str | None:
    """Return why `value` is not a valid ECS `what` name (cluster, service, container), or None when it is."""
    if ECS_NAME_RE.fullmatch(value):
        return None
    if not value:
        return f"empty {what} name"
    if value.startswith("arn:"):
        return f"{clip(value)!r} is an ARN, not a {what} name (set region and role_arn for other regions/accounts)"
    return f"{clip(value)!r} is not a valid {what} name (letters, digits, '-' and '_', at most 255)"


def template_fields(template: str) -> tuple[str, ...]:
    """Return the variable names a ``{name}`` template uses; raise ValueError when it is not a plain template."""
    names: list[str] = []
    for _literal, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"{{{name}}} is not a variable name (write {{name}}; use {{{{ and }}}} for braces)")
        if spec or conversion:
            raise ValueError(f"{{{name}...}} has a conversion or format spec; write plain {{{name}}}")
        names.append(name)
    return tuple(dict.fromkeys(names))


def parse_rule(item: object, index: int, source: str) -> Rule:
    """Return the rule at `index` of a document's ``rules``; raise ConfigError naming the rule and field."""
    r = Reader(source, index)
    if not isinstance(item, Mapping):
        raise r.fail("", expected("a mapping", item))
    r.check_keys(item, RULE_KEYS, "")
    repository = r.text(item, "repository", "repository")
    variables = _repository_variables(repository, r)
    allow = r.text_list(item, "tags", "tags")
    if allow is not None and not allow:
        raise r.fail("tags", "empty list (leave tags out to allow every tag)")
    exclude = r.text_list(item, "exclude_tags", "exclude_tags") or ()
    for key, patterns in (("tags", allow or ()), ("exclude_tags", exclude)):
        for i, pattern in enumerate(patterns):
            try:
                parse_tag_pattern(pattern)
            except ValueError as exc:
                raise r.fail(f"{key}[{i}]", str(exc)) from None
    untagged = r.flag(item, "untagged", "untagged")
    strategy = parse_strategy(item.get("strategy", "pin"), "strategy", r)
    targets = item.get("targets")
    if not isinstance(targets, list | tuple):
        raise r.fail("targets", expected("a list of targets", targets))
    if not targets:
        raise r.fail("targets", "empty (expected at least one target)")
    policy = TagPolicy.with_defaults(allow or (), exclude, untagged)
    return Rule(
        index=index,
        repository=repository,
        tags=policy,
        strategy=strategy,
        targets=tuple(_parse_target(t, f"targets[{i}]", variables, r) for i, t in enumerate(targets)),
        allow_downgrade=bool(r.flag(item, "allow_downgrade", "allow_downgrade")),
        rollback=bool(r.flag(item, "rollback", "rollback")),
        order=_order(item.get("order"), policy, r),
        allow_single_platform=bool(r.flag(item, "allow_single_platform", "allow_single_platform")),
        deployment=parse_deployment(item.get("deployment"), r),
        gates=parse_gates(item, r),
    )


def _order(value: object, policy: TagPolicy, r: Reader) -> OrderKind:
    """Return the rule's order: as given, else semver for a semver tag policy, else push time."""
    if value is None:
        return default_order(policy)
    for kind in ORDER_KINDS:
        if value == kind:
            return kind
    shown = repr(value) if isinstance(value, str) else kind_of(value)
    raise r.fail("order", f"expected one of {', '.join(ORDER_KINDS)}, got {shown}")


def parse_strategy(value: object, path: str, r: Reader) -> Strategy:
    """Return the strategy `value` names; raise ConfigError at `path` when it is neither pin nor force."""
    for strategy in STRATEGIES:
        if value == strategy:
            return strategy
    shown = repr(value) if isinstance(value, str) else kind_of(value)
    raise r.fail(path, f"expected 'pin' or 'force', got {shown}")


def _repository_variables(repository: str, r: Reader) -> tuple[str, ...]:
    if repository.startswith(REGEX_PREFIX):
        body = repository[len(REGEX_PREFIX) :]
        if not body:
            raise r.fail("repository", "empty regular expression after 're:'")
        try:
            regex = re.compile(body)
        except re.error as exc:
            raise r.fail("repository", f"invalid regular expression {body!r}: {exc}") from None
        if nested_repeat(body):
            raise r.fail("repository", f"regular expression {clip(body)!r} {PROBLEM}")
        clash = [name for name in regex.groupindex if name in BUILTIN_VARIABLES]
        if clash:
            raise r.fail("repository", f"named group {clash[0]!r} clashes with the built-in {{{clash[0]}}} variable")
        return BUILTIN_VARIABLES + tuple(regex.groupindex)
    if is_glob(repository):
        if not _REPOSITORY_GLOB_CHARS.fullmatch(repository):
            raise r.fail(
                "repository",
                f"glob {clip(repository)!r} can never match a repository name (lower-case letters, digits, "
                "'.', '_', '-' and '/'); write 're:REGEX' for other patterns",
            )
        return BUILTIN_VARIABLES
    if not REPOSITORY_NAME_RE.fullmatch(repository):
        raise r.fail(
            "repository",
            f"{clip(repository)!r} is not an ECR repository name (lower-case letters, digits, '.', '_', '-', "
            "'/'); write a glob such as 'shop/*' or 're:REGEX' for patterns",
        )
    return BUILTIN_VARIABLES


def _parse_target(item: object, path: str, variables: tuple[str, ...], r: Reader) -> TargetSpec:
    if not isinstance(item, Mapping):
        raise r.fail(path, expected("a mapping", item))
    r.check_keys(item, TARGET_KEYS, f"{path}.")
    cluster = _name_template(r.text(item, "cluster", f"{path}.cluster"), f"{path}.cluster", "cluster", variables, r)
    service = _name_template(r.text(item, "service", f"{path}.service"), f"{path}.service", "service", variables, r)
    containers = r.text_list(item, "containers", f"{path}.containers")
    if containers is not None:
        if not containers:
            raise r.fail(f"{path}.containers", "empty list (leave containers out to update every matching container)")
        for i, name in enumerate(containers):
            _name_template(name, f"{path}.containers[{i}]", "container", variables, r)
    region = r.optional_text(item, "region", f"{path}.region")
    if region is not None and not REGION_RE.fullmatch(region):
        raise r.fail(f"{path}.region", f"{clip(region)!r} is not an AWS region such as us-east-1")
    role_arn = r.optional_text(item, "role_arn", f"{path}.role_arn")
    if role_arn is not None and not ROLE_ARN_RE.fullmatch(role_arn):
        raise r.fail(f"{path}.role_arn", f"{clip(role_arn)!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    external_id = r.optional_text(item, "role_external_id", f"{path}.role_external_id")
    if external_id is not None:
        if role_arn is None:
            raise r.fail(f"{path}.role_external_id", "set only with role_arn (it is the ExternalId of that role)")
        if not EXTERNAL_ID_RE.fullmatch(external_id):
            raise r.fail(f"{path}.role_external_id", "not an sts:ExternalId (2 to 1224 letters, digits and +=,.@:/-)")
    families = parse_names(
        item.get("families"), f"{path}.families", FAMILY_RE, "a task-definition family, or a prefix ending in '*'", r
    )
    pass_roles = parse_names(
        item.get("pass_roles"), f"{path}.pass_roles", PASS_ROLE_RE, "a role ARN, or a role path ending in '/*'", r
    )
    after, soak = parse_after(item, path, lambda v, p, what: _name_template(v, p, what, variables, r), r)
    if after is not None and (after.cluster, after.service, after.region or region) == (cluster, service, region):
        raise r.fail(f"{path}.after", "names the target itself (after: is the service it is promoted from)")
    return TargetSpec(
        cluster, service, containers, region, role_arn, external_id, families, pass_roles, after=after, soak=soak
    )


def parse_names(value: object, path: str, pattern: Lazy, what: str, r: Reader) -> tuple[str, ...] | None:
    """Return a non-empty list of names that each match `pattern`; raise ConfigError at `path[i]` naming `what`."""
    names = r.text_list({"value": value}, "value", path)
    if names is None:
        return None
    if not names:
        raise r.fail(path, f"empty list (expected {what})")
    for i, name in enumerate(names):
        if not pattern.fullmatch(name):
            raise r.fail(f"{path}[{i}]", f"{clip(name)!r} is not {what}")
    return names


def _name_template(value: str, path: str, what: str, variables: tuple[str, ...], r: Reader) -> str:
    try:
        names = template_fields(value)
    except ValueError as exc:
        raise r.fail(path, f"bad template {clip(value)!r}: {exc}") from None
    unknown = [name for name in names if name not in variables]
    if unknown:
        known = ", ".join(f"{{{v}}}" for v in variables)
        raise r.fail(path, f"unknown template variable {{{unknown[0]}}} (this rule's repository provides {known})")
    if not names:
        problem = name_problem(value.format_map({}), what)
        if problem is not None:
            raise r.fail(path, problem)
        return value
    # Variables are only known per event; the literal part alone can already rule out every name.
    literal = value.format_map(dict.fromkeys(names, ""))
    if not _ECS_NAME_CHARS.fullmatch(literal) or len(literal) > 255:
        raise r.fail(path, f"template {clip(value)!r} can never give a valid {what} name (letters, digits, '-', '_')")
    return value
