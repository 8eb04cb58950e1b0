"""Configuration: a rules document (YAML or JSON) or the seed-compatible environment, validated at load.

Rules document (README "Configuration"); every key is checked, unknown keys are errors:
    rules:
      - repository: shop/api          # exact name | glob "shop/*" ("*" also matches "/") | "re:REGEX" (whole name)
        tags: ["v*"]                  # allow-list of tag patterns (see core.tags); absent: every tag
        exclude_tags: ["*-rc*"]
        untagged: false               # default false: an untagged push is usually one platform of a multi-arch image
        strategy: pin                 # pin | force
        allow_downgrade: false
        rollback: false
        targets:                      # at least one; cluster, service and containers may use {templates}
          - {cluster: shop, service: "{service}", containers: [api], region: us-east-1, role_arn: arn:...}
    notify: {...}                     # kept in `raw` only, for the notifier
    defaults: {...}                   # kept in `raw` only
    seed: {service_regex: ..., cluster_regex: ..., strategy: pin}   # seed-compatible mode as a document
A document holds either `rules` or `seed`, so `parse_config(config.raw, ...)` rebuilds any configuration.

Environment (`config_from_env`): AUTODEPLOY_CONFIG (a file path, or inline JSON starting with "{") wins over
ECR_SERVICE_REGEX + ECR_CLUSTER_REGEX (+ AUTODEPLOY_STRATEGY), the seed-compatible mode.
Every problem raises ConfigError naming the source, the rule index and the field.
"""

from __future__ import annotations

import difflib
import fnmatch
import json
import math
import re
import string
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.events import REGION_RE, REPOSITORY_NAME_RE
from ecr_autodeploy.core.tags import TagPolicy, parse_tag_pattern

Strategy = Literal["pin", "force"]
STRATEGIES: tuple[Strategy, ...] = ("pin", "force")

ENV_CONFIG = "AUTODEPLOY_CONFIG"
ENV_SERVICE_REGEX = "ECR_SERVICE_REGEX"
ENV_CLUSTER_REGEX = "ECR_CLUSTER_REGEX"
ENV_STRATEGY = "AUTODEPLOY_STRATEGY"
ENVIRONMENT = "environment"

TOP_KEYS = ("rules", "seed", "notify", "defaults")
RULE_KEYS = ("repository", "tags", "exclude_tags", "untagged", "strategy", "allow_downgrade", "rollback", "targets")
TARGET_KEYS = ("cluster", "service", "containers", "region", "role_arn")
SEED_KEYS = ("service_regex", "cluster_regex", "strategy")
BUILTIN_VARIABLES = ("repository",)

REGEX_PREFIX = "re:"
ROLE_ARN_RE = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/(?:[A-Za-z0-9_+=,.@-]+/)*[A-Za-z0-9_+=,.@-]{1,64}")
# ECS cluster, service and container names: letters, digits, hyphens and underscores, at most 255.
ECS_NAME_RE = re.compile(r"[A-Za-z0-9_-]{1,255}")
_ECS_NAME_CHARS = re.compile(r"[A-Za-z0-9_-]*")
# ECR's own rule for repository names (lower-case path components, at most 256 characters).
_REPOSITORY_GLOB_CHARS = re.compile(r"[a-z0-9._/\-*?\[\]!]*")
_GLOB_META = ("*", "?", "[")


@dataclass(frozen=True)
class TargetSpec:
    """One service a rule deploys to; cluster, service and containers may hold {variable} templates."""

    cluster: str
    service: str
    containers: tuple[str, ...] | None = None
    region: str | None = None
    role_arn: str | None = None


@dataclass(frozen=True)
class Rule:
    """A rules-document entry: which repositories, which tags, how, and to which services."""

    index: int
    repository: str
    tags: TagPolicy
    strategy: Strategy
    targets: tuple[TargetSpec, ...]
    allow_downgrade: bool = False
    rollback: bool = False
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


@dataclass(frozen=True)
class SeedRegexes:
    """The seed-compatible mode: group 1 of each regex, searched in the repository ARN, names service and cluster."""

    service: re.Pattern[str]
    cluster: re.Pattern[str]
    strategy: Strategy


@dataclass(frozen=True)
class Config:
    """A validated configuration: rules (rules mode) or seed regexes (seed mode), and the document it came from."""

    source: str
    rules: tuple[Rule, ...]
    seed: SeedRegexes | None
    raw: Mapping[str, Any] = field(hash=False)
    notes: tuple[str, ...] = ()

    @property
    def mode(self) -> Literal["rules", "seed"]:
        """Return which mode this configuration is in."""
        return "seed" if self.seed is not None and not self.rules else "rules"


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
        return f"{_clip(value)!r} is an ARN, not a {what} name (set region and role_arn for other regions/accounts)"
    return f"{_clip(value)!r} is not a valid {what} name (letters, digits, '-' and '_', at most 255)"


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


def parse_config(data: object, source: str) -> Config:
    """Return the validated configuration of a loaded document; raise ConfigError naming source, rule and field."""
    if not isinstance(data, Mapping):
        raise ConfigError(source, f"expected a mapping with a 'rules' list at the top level, got {_kind(data)}")
    top = _Reader(source, None)
    top.check_keys(data, TOP_KEYS, "")
    for key in ("notify", "defaults"):
        if key in data and not isinstance(data[key], Mapping):
            raise top.fail(key, _expected("a mapping", data[key]))
    if "seed" in data:
        if "rules" in data:
            raise top.fail("seed", "a document sets either 'rules' or 'seed', not both")
        rules: tuple[Rule, ...] = ()
        seed: SeedRegexes | None = _seed_from_document(data["seed"], top)
    else:
        items = data.get("rules")
        if not isinstance(items, list | tuple):
            raise top.fail("rules", _expected("a list of rules", items))
        if not items:
            raise top.fail("rules", "empty (expected at least one rule)")
        rules = tuple(_parse_rule(item, i, source) for i, item in enumerate(items))
        seed = None
    return Config(source, rules, seed, _json_copy(data, "", top))


def parse_config_text(text: str, source: str) -> Config:
    """Return the configuration in JSON, or YAML when the text is not JSON; raise ConfigError naming the source."""
    text = text.removeprefix("\ufeff")
    try:
        data = _load_json(text, source)
    except json.JSONDecodeError as json_error:
        try:
            data = _load_yaml(text, source)
        except ConfigError:
            # Text that opens like JSON was meant as JSON: its error is the one that helps.
            if text.lstrip().startswith(("{", "[")):
                raise _json_failure(json_error, source) from None
            raise
    return parse_config(data, source)


def config_from_env(env: Mapping[str, str], read_text: Callable[[str], str]) -> Config:
    """Return the configuration the environment selects; raise ConfigError naming the variable or file."""
    setting = env.get(ENV_CONFIG, "").strip()
    if setting:
        if setting.startswith("{"):
            try:
                config = parse_config(_load_json(setting, ENV_CONFIG), ENV_CONFIG)
            except json.JSONDecodeError as exc:
                raise _json_failure(exc, ENV_CONFIG) from None
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
    reader = _Reader(ENVIRONMENT, None)
    if not service.strip() and not cluster.strip():
        raise ConfigError(
            ENVIRONMENT,
            f"no configuration: set {ENV_CONFIG} to a rules file path or inline JSON rules, or set both "
            f"{ENV_SERVICE_REGEX} and {ENV_CLUSTER_REGEX} (seed-compatible mode)",
        )
    if not service.strip():
        raise reader.fail(
            ENV_SERVICE_REGEX, f"missing: {ENV_CLUSTER_REGEX} is set, and seed-compatible mode needs both"
        )
    if not cluster.strip():
        raise reader.fail(
            ENV_CLUSTER_REGEX, f"missing: {ENV_SERVICE_REGEX} is set, and seed-compatible mode needs both"
        )
    strategy_text = env.get(ENV_STRATEGY, "").strip() or "pin"
    seed = SeedRegexes(
        _seed_regex(service, ENV_SERVICE_REGEX, "service", reader),
        _seed_regex(cluster, ENV_CLUSTER_REGEX, "cluster", reader),
        _strategy(strategy_text, ENV_STRATEGY, reader),
    )
    raw = {"seed": {"service_regex": service, "cluster_regex": cluster, "strategy": seed.strategy}}
    return Config(ENVIRONMENT, (), seed, raw)


class _Reader:
    """Typed access to one rule (or the top level) that raises ConfigError naming source, rule and field."""

    def __init__(self, source: str, rule: int | None) -> None:
        self.source = source
        self.rule = rule

    def fail(self, path: str, problem: str) -> ConfigError:
        return ConfigError(self.source, problem, rule=self.rule, field=path or None)

    def check_keys(self, data: Mapping[Any, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail(f"{prefix}{key}", f"unknown key ({hint}known keys: {', '.join(allowed)})")

    def text(self, data: Mapping[str, Any], key: str, path: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, _expected("a non-empty string", value))
        return value

    def optional_text(self, data: Mapping[str, Any], key: str, path: str) -> str | None:
        return None if data.get(key) is None else self.text(data, key, path)

    def flag(self, data: Mapping[str, Any], key: str, path: str) -> bool | None:
        value = data.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail(path, _expected("true or false", value))
        return value

    def text_list(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise self.fail(path, _expected("a list of strings", value))
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{path}[{i}]", _expected("a non-empty string", item))
        return tuple(dict.fromkeys(value))


def _parse_rule(item: object, index: int, source: str) -> Rule:
    r = _Reader(source, index)
    if not isinstance(item, Mapping):
        raise r.fail("", _expected("a mapping", item))
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
    strategy = _strategy(item.get("strategy", "pin"), "strategy", r)
    targets = item.get("targets")
    if not isinstance(targets, list | tuple):
        raise r.fail("targets", _expected("a list of targets", targets))
    if not targets:
        raise r.fail("targets", "empty (expected at least one target)")
    return Rule(
        index=index,
        repository=repository,
        tags=TagPolicy.with_defaults(allow or (), exclude, untagged),
        strategy=strategy,
        targets=tuple(_parse_target(t, f"targets[{i}]", variables, r) for i, t in enumerate(targets)),
        allow_downgrade=bool(r.flag(item, "allow_downgrade", "allow_downgrade")),
        rollback=bool(r.flag(item, "rollback", "rollback")),
    )


def _repository_variables(repository: str, r: _Reader) -> tuple[str, ...]:
    if repository.startswith(REGEX_PREFIX):
        body = repository[len(REGEX_PREFIX) :]
        if not body:
            raise r.fail("repository", "empty regular expression after 're:'")
        try:
            regex = re.compile(body)
        except re.error as exc:
            raise r.fail("repository", f"invalid regular expression {body!r}: {exc}") from None
        clash = [name for name in regex.groupindex if name in BUILTIN_VARIABLES]
        if clash:
            raise r.fail("repository", f"named group {clash[0]!r} clashes with the built-in {{{clash[0]}}} variable")
        return BUILTIN_VARIABLES + tuple(regex.groupindex)
    if is_glob(repository):
        if not _REPOSITORY_GLOB_CHARS.fullmatch(repository):
            raise r.fail(
                "repository",
                f"glob {_clip(repository)!r} can never match a repository name (lower-case letters, digits, "
                "'.', '_', '-' and '/'); write 're:REGEX' for other patterns",
            )
        return BUILTIN_VARIABLES
    if not REPOSITORY_NAME_RE.fullmatch(repository):
        raise r.fail(
            "repository",
            f"{_clip(repository)!r} is not an ECR repository name (lower-case letters, digits, '.', '_', '-', "
            "'/'); write a glob such as 'shop/*' or 're:REGEX' for patterns",
        )
    return BUILTIN_VARIABLES


def _parse_target(item: object, path: str, variables: tuple[str, ...], r: _Reader) -> TargetSpec:
    if not isinstance(item, Mapping):
        raise r.fail(path, _expected("a mapping", item))
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
        raise r.fail(f"{path}.region", f"{_clip(region)!r} is not an AWS region such as us-east-1")
    role_arn = r.optional_text(item, "role_arn", f"{path}.role_arn")
    if role_arn is not None and not ROLE_ARN_RE.fullmatch(role_arn):
        raise r.fail(f"{path}.role_arn", f"{_clip(role_arn)!r} is not an IAM role ARN (arn:aws:iam::ACCOUNT:role/NAME)")
    return TargetSpec(cluster, service, containers, region, role_arn)


def _name_template(value: str, path: str, what: str, variables: tuple[str, ...], r: _Reader) -> str:
    try:
        names = template_fields(value)
    except ValueError as exc:
        raise r.fail(path, f"bad template {_clip(value)!r}: {exc}") from None
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
        raise r.fail(path, f"template {_clip(value)!r} can never give a valid {what} name (letters, digits, '-', '_')")
    return value


def _strategy(value: object, path: str, r: _Reader) -> Strategy:
    for strategy in STRATEGIES:
        if value == strategy:
            return strategy
    shown = repr(value) if isinstance(value, str) else _kind(value)
    raise r.fail(path, f"expected 'pin' or 'force', got {shown}")


def _seed_from_document(value: object, r: _Reader) -> SeedRegexes:
    if not isinstance(value, Mapping):
        raise r.fail("seed", _expected("a mapping", value))
    r.check_keys(value, SEED_KEYS, "seed.")
    service = r.text(value, "service_regex", "seed.service_regex")
    cluster = r.text(value, "cluster_regex", "seed.cluster_regex")
    return SeedRegexes(
        _seed_regex(service, "seed.service_regex", "service", r),
        _seed_regex(cluster, "seed.cluster_regex", "cluster", r),
        _strategy(value.get("strategy", "pin"), "seed.strategy", r),
    )


def _seed_regex(text: str, path: str, what: str, r: _Reader) -> re.Pattern[str]:
    try:
        regex = re.compile(text)
    except re.error as exc:
        raise r.fail(path, f"invalid regular expression {_clip(text)!r}: {exc}") from None
    if regex.groups < 1:
        raise r.fail(path, f"regular expression {_clip(text)!r} has no group; group 1 must capture the {what} name")
    return regex


def _json_copy(value: object, path: str, r: _Reader) -> Any:
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


def _load_json(text: str, source: str) -> object:
    """Return the parsed JSON; raise json.JSONDecodeError, or ConfigError on a duplicate key."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise ConfigError(source, f"duplicate key {key!r}")
            result[key] = value
        return result

    return json.loads(text, object_pairs_hook=pairs)


def _load_yaml(text: str, source: str) -> object:
    """Return the parsed YAML; raise ConfigError naming the source, line and column when it does not parse."""
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            source, "not JSON, and PyYAML is not installed to read it as YAML (install PyYAML or write JSON)"
        ) from None

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate keys instead of keeping the last one silently."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
            seen: dict[tuple[str, str], int] = {}
            for key_node, _value in node.value:
                # Merge keys ("<<") may be overridden on purpose, so only explicit scalar keys are compared.
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    ident = (key_node.tag, key_node.value)
                    line = key_node.start_mark.line + 1
                    if ident in seen:
                        raise ConfigError(
                            source, f"duplicate key {key_node.value!r} at line {line} (first at line {seen[ident]})"
                        )
                    seen[ident] = line
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(source, f"invalid YAML{_yaml_where(exc)}") from None


def _yaml_where(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _json_failure(exc: json.JSONDecodeError, source: str) -> ConfigError:
    return ConfigError(source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")


def _os_reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _kind(value: object) -> str:
    """Return the document-level name of a value's type (YAML/JSON words, not Python's)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__}"


def _expected(what: str, value: object) -> str:
    if value is None:
        return f"missing (expected {what})"
    if isinstance(value, str) and not value.strip():
        return f"empty (expected {what})"
    return f"expected {what}, got {_kind(value)}"


def _clip(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "..."
