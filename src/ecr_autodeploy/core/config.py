"""Configuration: a rules document (YAML or JSON) or the seed-compatible environment, validated at load.

Rules document (README "Configuration"); every key is checked, unknown keys are errors:
    rules: [...]                      # the rules (core.rules)
    notify: {...}                     # where notifications go (core.notify), parsed into Config.notify
    seed: {service_regex: ..., cluster_regex: ..., strategy: pin}   # seed-compatible mode as a document
          # (+ families, pass_roles: what the policy may register and pass, as in a rule's target)
A document holds either `rules` or `seed`, so `parse_config(config.raw, ...)` rebuilds any configuration.

Environment (`config_from_env`): AUTODEPLOY_CONFIG (a file path, or inline JSON starting with "{") wins over
ECR_SERVICE_REGEX + ECR_CLUSTER_REGEX (+ AUTODEPLOY_STRATEGY, and AUTODEPLOY_FAMILIES / AUTODEPLOY_PASS_ROLES,
comma-separated, for the policy), the seed-compatible mode.
Every problem raises ConfigError naming the source, the rule index and the field.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import field, replace
from typing import Any, Literal

from ecr_autodeploy.core.documents import load_json, load_text
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.fields import Reader, clip, expected, kind_of
from ecr_autodeploy.core.notify import NotifySettings, parse_notify
from ecr_autodeploy.core.regex_safety import PROBLEM, nested_repeat
from ecr_autodeploy.core.rules import (
    FAMILY_RE,
    PASS_ROLE_RE,
    REGEX_PREFIX,
    STRATEGIES,
    Rule,
    Strategy,
    TargetSpec,
    is_glob,
    name_problem,
    parse_names,
    parse_rule,
    parse_strategy,
    template_fields,
)
from ecr_autodeploy.core.values import frozen

__all__ = [
    "ENV_CLUSTER_REGEX",
    "ENV_CONFIG",
    "ENV_FAMILIES",
    "ENV_PASS_ROLES",
    "ENV_SERVICE_REGEX",
    "ENV_STRATEGY",
    "REGEX_PREFIX",
    "STRATEGIES",
    "Config",
    "Rule",
    "SeedRegexes",
    "Strategy",
    "TargetSpec",
    "config_from_env",
    "is_glob",
    "name_problem",
    "parse_config",
    "parse_config_text",
    "template_fields",
]

ENV_CONFIG = "AUTODEPLOY_CONFIG"
ENV_SERVICE_REGEX = "ECR_SERVICE_REGEX"
ENV_CLUSTER_REGEX = "ECR_CLUSTER_REGEX"
ENV_STRATEGY = "AUTODEPLOY_STRATEGY"
ENV_FAMILIES = "AUTODEPLOY_FAMILIES"
ENV_PASS_ROLES = "AUTODEPLOY_PASS_ROLES"
ENVIRONMENT = "environment"

TOP_KEYS = ("rules", "seed", "notify")
SEED_KEYS = ("service_regex", "cluster_regex", "strategy", "families", "pass_roles")


@frozen
class SeedRegexes:
    """The seed-compatible mode: group 1 of each regex, searched in the repository ARN, names service and cluster.

    Without a cluster regex the service is in the ``default`` cluster, as in the original Lambda.
    """

    service: re.Pattern[str]
    cluster: re.Pattern[str] | None
    strategy: Strategy
    families: tuple[str, ...] | None = None  # for the policy only, as TargetSpec.families
    pass_roles: tuple[str, ...] | None = None


@frozen
class Config:
    """A validated configuration: rules (rules mode) or seed regexes (seed mode), and the document it came from.

    `notify` is the document's ``notify:`` block, parsed once at load (None when the document has none).
    """

    source: str
    rules: tuple[Rule, ...]
    seed: SeedRegexes | None
    raw: Mapping[str, Any] = field(hash=False)
    notes: tuple[str, ...] = ()
    notify: NotifySettings | None = None

    @property
    def external_ids(self) -> dict[str, str]:
        """Return the ``sts:ExternalId`` to assume each target role with, by role ARN (roles that need one)."""
        return {
            t.role_arn: t.role_external_id
            for rule in self.rules
            for t in rule.targets
            if t.role_arn is not None and t.role_external_id is not None
        }

    @property
    def gated(self) -> bool:
        """Return True when a rule (or one of its targets) has a gate (core.gate_rules)."""
        return any(rule.gates is not None or any(t.after for t in rule.targets) for rule in self.rules)

    @property
    def approvals(self) -> bool:
        """Return True when a rule requires approval."""
        return any(rule.gates is not None and rule.gates.approval for rule in self.rules)

    @property
    def chained(self) -> bool:
        """Return True when a completed rollout can start others: a promotion (after:) or waves (max_parallel)."""
        return any(
            (rule.gates is not None and rule.gates.max_parallel is not None) or any(t.after for t in rule.targets)
            for rule in self.rules
        )

    @property
    def alarm_names(self) -> tuple[str, ...]:
        """Return every alarm a rule's hold_if_alarm names."""
        names = (n for rule in self.rules if rule.gates for n in rule.gates.hold_if_alarm)
        return tuple(dict.fromkeys(names))

    @property
    def mode(self) -> Literal["rules", "seed"]:
        """Return which mode this configuration is in."""
        return "seed" if self.seed is not None and not self.rules else "rules"


def parse_config(data: object, source: str) -> Config:
    """Return the validated configuration of a loaded document; raise ConfigError naming source, rule and field."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, f"expected a mapping with a 'rules' list at the top level, got {kind_of(data)}")
    top = Reader(source, None)
    top.check_keys(data, TOP_KEYS, "")
    if "notify" in data and not isinstance(data["notify"], Mapping):
        raise top.fail("notify", expected("a mapping", data["notify"]))
    if "seed" in data:
        if "rules" in data:
            raise top.fail("seed", "a document sets either 'rules' or 'seed', not both")
        rules: tuple[Rule, ...] = ()
        seed: SeedRegexes | None = _seed_from_document(data["seed"], top)
    else:
        items = data.get("rules")
        if not isinstance(items, list | tuple):
            raise top.fail("rules", expected("a list of rules", items))
        if not items:
            raise top.fail("rules", "empty (expected at least one rule)")
        rules = tuple(parse_rule(item, i, source) for i, item in enumerate(items))
        _check_external_ids(rules, source)
        seed = None
    raw = _json_copy(data, "", top)
    return Config(source, rules, seed, raw, notify=parse_notify(raw.get("notify"), source))


def parse_config_text(text: str, source: str) -> Config:
    """Return the configuration in JSON, or YAML when the text is not JSON; raise ConfigError naming the source."""
    return parse_config(load_text(text, source), source)


def config_from_env(env: Mapping[str, str], read_text: Callable[[str], str]) -> Config:
    """Return the configuration the environment selects; raise ConfigError naming the variable or file."""
    setting = env.get(ENV_CONFIG, "").strip()
    if setting:
        if setting.startswith("{"):
            config = parse_config(load_json(setting, ENV_CONFIG), ENV_CONFIG)
        else:
            try:
                text = read_text(setting)
            except OSError as exc:
                raise ConfigError(
                    setting, f"cannot read the rules file {ENV_CONFIG} names: {_os_reason(exc)}"
                ) from None
            except UnicodeDecodeError as exc:
                raise ConfigError(setting, f"not UTF-8 text (byte {exc.start}: {exc.reason})") from None
            config = parse_config_text(text, setting)
        ignored = [name for name in (ENV_SERVICE_REGEX, ENV_CLUSTER_REGEX, ENV_STRATEGY) if env.get(name, "").strip()]
        if ignored:
            note = f"{', '.join(ignored)} ignored: {ENV_CONFIG} is set and takes precedence"
            config = replace(config, notes=(*config.notes, note))
        return config
    service = env.get(ENV_SERVICE_REGEX, "")
    cluster = env.get(ENV_CLUSTER_REGEX, "")
    reader = Reader(ENVIRONMENT, None)
    if not service.strip() and not cluster.strip():
        raise ConfigError(
            ENVIRONMENT,
            f"no configuration: set {ENV_CONFIG} to a rules file path or inline JSON rules, or set "
            f"{ENV_SERVICE_REGEX} (and {ENV_CLUSTER_REGEX}, else the default cluster: seed-compatible mode)",
        )
    if not service.strip():
        raise reader.fail(
            ENV_SERVICE_REGEX, f"missing: {ENV_CLUSTER_REGEX} is set, and seed-compatible mode needs the service regex"
        )
    strategy_text = env.get(ENV_STRATEGY, "").strip() or "pin"
    lists = {
        name: [v.strip() for v in env.get(name, "").split(",") if v.strip()] or None
        for name in (ENV_FAMILIES, ENV_PASS_ROLES)
    }
    seed = SeedRegexes(
        _seed_regex(service, ENV_SERVICE_REGEX, "service", reader),
        _seed_regex(cluster, ENV_CLUSTER_REGEX, "cluster", reader) if cluster.strip() else None,
        parse_strategy(strategy_text, ENV_STRATEGY, reader),
        parse_names(
            lists[ENV_FAMILIES], ENV_FAMILIES, FAMILY_RE, "a task-definition family, or a prefix ending in '*'", reader
        ),
        parse_names(
            lists[ENV_PASS_ROLES], ENV_PASS_ROLES, PASS_ROLE_RE, "a role ARN, or a role path ending in '/*'", reader
        ),
    )
    seed_raw: dict[str, Any] = {"service_regex": service, "strategy": seed.strategy}
    if seed.cluster is not None:
        seed_raw["cluster_regex"] = cluster
    for key, names in (("families", seed.families), ("pass_roles", seed.pass_roles)):
        if names is not None:
            seed_raw[key] = list(names)
    return Config(ENVIRONMENT, (), seed, {"seed": seed_raw})


def _seed_from_document(value: object, r: Reader) -> SeedRegexes:
    if not isinstance(value, Mapping):
        raise r.fail("seed", expected("a mapping", value))
    r.check_keys(value, SEED_KEYS, "seed.")
    service = r.text(value, "service_regex", "seed.service_regex")
    cluster = r.optional_text(value, "cluster_regex", "seed.cluster_regex")
    return SeedRegexes(
        _seed_regex(service, "seed.service_regex", "service", r),
        _seed_regex(cluster, "seed.cluster_regex", "cluster", r) if cluster is not None else None,
        parse_strategy(value.get("strategy", "pin"), "seed.strategy", r),
        parse_names(
            value.get("families"), "seed.families", FAMILY_RE, "a task-definition family, or a prefix ending in '*'", r
        ),
        parse_names(
            value.get("pass_roles"), "seed.pass_roles", PASS_ROLE_RE, "a role ARN, or a role path ending in '/*'", r
        ),
    )


def _check_external_ids(rules: tuple[Rule, ...], source: str) -> None:
    """Raise ConfigError when two targets give one role_arn different role_external_id values."""
    seen: dict[str, tuple[str | None, int]] = {}
    for rule in rules:
        for i, target in enumerate(rule.targets):
            if target.role_arn is None:
                continue
            first = seen.setdefault(target.role_arn, (target.role_external_id, rule.index))
            if first[0] != target.role_external_id:
                raise ConfigError(
                    source,
                    f"{target.role_arn} has another role_external_id in rules[{first[1]}]: one role, one ExternalId",
                    rule=rule.index,
                    field=f"targets[{i}].role_external_id",
                )


def _seed_regex(text: str, path: str, what: str, r: Reader) -> re.Pattern[str]:
    try:
        regex = re.compile(text)
    except re.error as exc:
        raise r.fail(path, f"invalid regular expression {clip(text)!r}: {exc}") from None
    if nested_repeat(text):
        raise r.fail(path, f"regular expression {clip(text)!r} {PROBLEM}")
    if regex.groups < 1:
        raise r.fail(path, f"regular expression {clip(text)!r} has no group; group 1 must capture the {what} name")
    return regex


def _json_copy(value: object, path: str, r: Reader) -> Any:
    """Return a plain JSON-able copy of `value`; raise ConfigError naming the first value JSON cannot hold."""
    if isinstance(value, Mapping):
        copy: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise r.fail(path, f"key {key!r} is not a string (quote it)")
            copy[key] = _json_copy(item, f"{path}.{key}" if path else key, r)
        return copy
    if isinstance(value, list | tuple):
        return [_json_copy(item, f"{path}[{i}]", r) for i, item in enumerate(value)]
    if isinstance(value, float) and not math.isfinite(value):
        raise r.fail(path, f"{value!r} cannot be stored as JSON")
    if value is None or isinstance(value, str | int | float):
        return value
    raise r.fail(path, f"a {type(value).__name__} value cannot be stored as JSON (quote it)")


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
