"""Unit tests of core.config: the rules document, its errors, text loading and the environment."""

from __future__ import annotations

import copy
import json
import sys
from collections.abc import Callable
from typing import Any

import pytest

from ecr_autodeploy.core.config import (
    Config,
    Rule,
    TargetSpec,
    config_from_env,
    is_glob,
    name_problem,
    parse_config,
    parse_config_text,
    template_fields,
)
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.tags import TagPolicy

ISSUE_EXAMPLE = """\
rules:
  - repository: shop/api                 # exact
    tags: ["v*", "release-*"]
    exclude_tags: ["*-rc*"]
    strategy: pin
    targets:
      - cluster: shop
        service: "{repository}-svc"
        containers: [api]
        region: us-east-1
        role_arn: arn:aws:iam::111122223333:role/deployer
  - repository: "re:^shop/(?P<service>[^/]+)$"
    untagged: false
    strategy: force
    allow_downgrade: true
    rollback: true
    targets:
      - cluster: shop
        service: "{service}"
      - cluster: shop-eu
        service: "{service}"
        region: eu-west-1
notify:
  slack: {channel: "#deploys"}
defaults:
  strategy: pin
"""


def rule(**overrides: Any) -> dict[str, Any]:
    """Return a minimal valid rule with `overrides` applied (None removes a key)."""
    base: dict[str, Any] = {"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def target(**overrides: Any) -> dict[str, Any]:
    """Return a minimal valid target with `overrides` applied (None removes a key)."""
    base: dict[str, Any] = {"cluster": "shop", "service": "api"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def error_of(data: object, source: str = "rules.yaml") -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source)
    return str(caught.value)


# --- a valid document --------------------------------------------------------------------------------------------


def test_issue_example_parses_to_rules() -> None:
    config = parse_config_text(ISSUE_EXAMPLE, "rules.yaml")
    assert config.source == "rules.yaml"
    assert config.seed is None
    assert config.mode == "rules"
    assert config.notes == ()
    first, second = config.rules
    assert first == Rule(
        index=0,
        repository="shop/api",
        tags=TagPolicy(allow=("v*", "release-*"), exclude=("*-rc*",), untagged=False),
        strategy="pin",
        targets=(
            TargetSpec(
                cluster="shop",
                service="{repository}-svc",
                containers=("api",),
                region="us-east-1",
                role_arn="arn:aws:iam::111122223333:role/deployer",
            ),
        ),
    )
    assert second.index == 1
    assert second.strategy == "force"
    assert second.allow_downgrade is True
    assert second.rollback is True
    assert second.tags == TagPolicy(untagged=False)
    assert second.targets == (
        TargetSpec("shop", "{service}"),
        TargetSpec("shop-eu", "{service}", region="eu-west-1"),
    )


def test_raw_keeps_notify_and_defaults_and_is_plain_json() -> None:
    config = parse_config_text(ISSUE_EXAMPLE, "rules.yaml")
    assert config.raw["notify"] == {"slack": {"channel": "#deploys"}}
    assert config.raw["defaults"] == {"strategy": "pin"}
    assert type(config.raw) is dict
    assert json.loads(json.dumps(config.raw)) == config.raw


def test_json_and_yaml_forms_give_the_same_config() -> None:
    from_yaml = parse_config_text(ISSUE_EXAMPLE, "rules.yaml")
    from_json = parse_config_text(json.dumps(from_yaml.raw, indent=2), "rules.json")
    assert from_json.rules == from_yaml.rules
    assert from_json.raw == from_yaml.raw


def test_raw_round_trips_through_parse_config() -> None:
    config = parse_config_text(ISSUE_EXAMPLE, "rules.yaml")
    again = parse_config(json.loads(json.dumps(config.raw)), "embedded")
    assert again.rules == config.rules
    assert again.raw == config.raw


def test_raw_is_a_copy_of_the_input() -> None:
    data: dict[str, Any] = {"rules": [rule()], "notify": {"to": ["a"]}}
    config = parse_config(data, "x")
    data["notify"]["to"].append("b")
    data["rules"][0]["repository"] = "other"
    assert config.raw["notify"] == {"to": ["a"]}
    assert config.raw["rules"][0]["repository"] == "shop/api"


def test_defaults_of_a_minimal_rule() -> None:
    (only,) = parse_config({"rules": [rule()]}, "x").rules
    assert only.strategy == "pin"
    assert only.allow_downgrade is False
    assert only.rollback is False
    assert only.tags == TagPolicy(untagged=False)  # untagged pushes (platform manifests) need untagged: true
    assert only.targets == (TargetSpec("shop", "api"),)


def test_untagged_defaults_to_false_and_can_be_set() -> None:
    assert parse_config({"rules": [rule(tags=["v*"])]}, "x").rules[0].tags.untagged is False
    assert parse_config({"rules": [rule(tags=["v*"], untagged=True)]}, "x").rules[0].tags.untagged is True
    assert parse_config({"rules": [rule(untagged=False)]}, "x").rules[0].tags.untagged is False


def test_exclude_tags_may_be_empty_and_patterns_are_deduplicated() -> None:
    (only,) = parse_config({"rules": [rule(tags=["v*", "v*"], exclude_tags=[])]}, "x").rules
    assert only.tags == TagPolicy(allow=("v*",))


def test_containers_are_deduplicated() -> None:
    data = {"rules": [rule(targets=[target(containers=["api", "sidecar", "api"])])]}
    assert parse_config(data, "x").rules[0].targets[0].containers == ("api", "sidecar")


def test_tuples_are_accepted_like_lists() -> None:
    data = {"rules": (rule(targets=(target(),), tags=("v*",)),)}
    assert parse_config(data, "x").rules[0].tags.allow == ("v*",)


def test_config_is_hashable_and_comparable() -> None:
    a = parse_config({"rules": [rule()], "notify": {"x": 1}}, "x")
    b = parse_config({"rules": [rule()], "notify": {"x": 1}}, "x")
    assert a == b
    assert hash(a) == hash(b)


# --- Rule.match --------------------------------------------------------------------------------------------------


def _rule(repository: str) -> Rule:
    return Rule(0, repository, TagPolicy(), "pin", (TargetSpec("c", "s"),))


def test_exact_rule_matches_only_that_name() -> None:
    r = _rule("shop/api")
    assert r.match("shop/api") == {"repository": "shop/api"}
    assert r.match("shop/api-v2") is None
    assert r.match("shop") is None
    assert r.variables == ("repository",)


def test_glob_rule_uses_fnmatch_where_star_also_crosses_slashes() -> None:
    r = _rule("shop/*")
    assert r.match("shop/api") == {"repository": "shop/api"}
    assert r.match("shop/team/api") == {"repository": "shop/team/api"}
    assert r.match("shopping/api") is None
    assert _rule("shop/api-?").match("shop/api-2") == {"repository": "shop/api-2"}


def test_regex_rule_must_match_the_whole_name_and_gives_named_groups() -> None:
    r = _rule("re:shop/(?P<service>[^/]+)")
    assert r.match("shop/api") == {"repository": "shop/api", "service": "api"}
    assert r.match("shop/api/extra") is None
    assert r.match("old/shop/api") is None  # fullmatch, not search
    assert r.variables == ("repository", "service")


def test_regex_rule_fills_unmatched_optional_groups_with_empty_text() -> None:
    r = _rule("re:(?P<team>[a-z]+/)?(?P<app>[a-z]+)")
    assert r.match("api") == {"repository": "api", "team": "", "app": "api"}
    assert r.match("shop/api") == {"repository": "shop/api", "team": "shop/", "app": "api"}


# --- errors: every one names source, rule and field ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([rule()], "rules.yaml: expected a mapping with a 'rules' list at the top level, got a list"),
        (None, "rules.yaml: expected a mapping with a 'rules' list at the top level, got null"),
        ({}, "rules.yaml: rules: missing (expected a list of rules)"),
        ({"rules": []}, "rules.yaml: rules: empty (expected at least one rule)"),
        ({"rules": {"a": 1}}, "rules.yaml: rules: expected a list of rules, got a mapping"),
        (
            {"rule": [rule()]},
            "rules.yaml: rule: unknown key (did you mean 'rules'? known keys: rules, seed, notify, defaults)",
        ),
        (
            {"rules": [rule()], "version": 1},
            "rules.yaml: version: unknown key (known keys: rules, seed, notify, defaults)",
        ),
        ({"rules": [rule()], "notify": ["x"]}, "rules.yaml: notify: expected a mapping, got a list"),
        ({"rules": [rule()], "defaults": None}, "rules.yaml: defaults: missing (expected a mapping)"),
        ({"rules": [rule()], "notify": {1: "x"}}, "rules.yaml: notify: key 1 is not a string (quote it)"),
        ({"rules": [rule()], "notify": {"a": [float("nan")]}}, "rules.yaml: notify.a[0]: nan cannot be stored as JSON"),
        (
            {"rules": [rule()], "notify": {"a": {"b": object()}}},
            "rules.yaml: notify.a.b: a object value cannot be stored as JSON (quote it)",
        ),
        (
            {"rules": [rule()], "seed": {"service_regex": "(a)", "cluster_regex": "(b)"}},
            "rules.yaml: seed: a document sets either 'rules' or 'seed', not both",
        ),
        ({"rules": ["shop/api"]}, "rules.yaml: rules[0]: expected a mapping, got a string"),
        (
            {"rules": [rule(), rule(repository=None)]},
            "rules.yaml: rules[1]: repository: missing (expected a non-empty string)",
        ),
        (
            {"rules": [rule(repository=3)]},
            "rules.yaml: rules[0]: repository: expected a non-empty string, got a number",
        ),
        ({"rules": [rule(repository=" ")]}, "rules.yaml: rules[0]: repository: empty (expected a non-empty string)"),
        (
            {"rules": [rule(repository="Shop/API")]},
            "rules.yaml: rules[0]: repository: 'Shop/API' is not an ECR repository name (lower-case letters, digits,"
            " '.', '_', '-', '/'); write a glob such as 'shop/*' or 're:REGEX' for patterns",
        ),
        (
            {"rules": [rule(repository="Shop/*")]},
            "rules.yaml: rules[0]: repository: glob 'Shop/*' can never match a repository name (lower-case letters,"
            " digits, '.', '_', '-' and '/'); write 're:REGEX' for other patterns",
        ),
        ({"rules": [rule(repository="re:")]}, "rules.yaml: rules[0]: repository: empty regular expression after 're:'"),
        (
            {"rules": [rule(repository="re:shop/(")]},
            "rules.yaml: rules[0]: repository: invalid regular expression 'shop/(': missing ), unterminated subpattern"
            " at position 5",
        ),
        (
            {"rules": [rule(repository="re:(?P<repository>.+)")]},
            "rules.yaml: rules[0]: repository: named group 'repository' clashes with the built-in"
            " {repository} variable",
        ),
        (
            {"rules": [rule(tag=["v*"])]},
            "rules.yaml: rules[0]: tag: unknown key (did you mean 'tags'? known keys: repository, tags, exclude_tags,"
            " untagged, strategy, allow_downgrade, rollback, targets)",
        ),
        ({"rules": [rule(tags="v*")]}, "rules.yaml: rules[0]: tags: expected a list of strings, got a string"),
        ({"rules": [rule(tags=[])]}, "rules.yaml: rules[0]: tags: empty list (leave tags out to allow every tag)"),
        ({"rules": [rule(tags=["v*", 2])]}, "rules.yaml: rules[0]: tags[1]: expected a non-empty string, got a number"),
        (
            {"rules": [rule(tags=["v*", "re:("])]},
            "rules.yaml: rules[0]: tags[1]: 're:(': invalid regular expression: missing ), unterminated subpattern at"
            " position 0",
        ),
        (
            {"rules": [rule(exclude_tags=["semver:>=1.x"])]},
            "rules.yaml: rules[0]: exclude_tags[0]: semver range '>=1.x': '1.x' is not a version such as 1, 1.2 or"
            " 1.2.3",
        ),
        ({"rules": [rule(untagged="no")]}, "rules.yaml: rules[0]: untagged: expected true or false, got a string"),
        ({"rules": [rule(rollback=1)]}, "rules.yaml: rules[0]: rollback: expected true or false, got a number"),
        (
            {"rules": [rule(allow_downgrade=[])]},
            "rules.yaml: rules[0]: allow_downgrade: expected true or false, got a list",
        ),
        (
            {"rules": [rule(strategy="rolling")]},
            "rules.yaml: rules[0]: strategy: expected 'pin' or 'force', got 'rolling'",
        ),
        (
            {"rules": [rule(strategy=None), rule(strategy=True)]},
            "rules.yaml: rules[1]: strategy: expected 'pin' or 'force', got a boolean",
        ),
        ({"rules": [rule(targets=None)]}, "rules.yaml: rules[0]: targets: missing (expected a list of targets)"),
        ({"rules": [rule(targets=[])]}, "rules.yaml: rules[0]: targets: empty (expected at least one target)"),
        (
            {"rules": [rule(targets=target())]},
            "rules.yaml: rules[0]: targets: expected a list of targets, got a mapping",
        ),
        (
            {"rules": [rule(targets=[target(), "api"])]},
            "rules.yaml: rules[0]: targets[1]: expected a mapping, got a string",
        ),
        (
            {"rules": [rule(targets=[target(cluster=None)])]},
            "rules.yaml: rules[0]: targets[0].cluster: missing (expected a non-empty string)",
        ),
        (
            {"rules": [rule(targets=[target(services="x")])]},
            "rules.yaml: rules[0]: targets[0].services: unknown key (did you mean 'service'? known keys: cluster,"
            " service, containers, region, role_arn)",
        ),
        (
            {"rules": [rule(targets=[target(service="")])]},
            "rules.yaml: rules[0]: targets[0].service: empty (expected a non-empty string)",
        ),
        (
            {"rules": [rule(targets=[target(cluster="arn:aws:ecs:us-east-1:123456789012:cluster/shop")])]},
            "rules.yaml: rules[0]: targets[0].cluster: 'arn:aws:ecs:us-east-1:123456789012:cluster/shop' is"
            " an ARN, not a"
            " cluster name (set region and role_arn for other regions/accounts)",
        ),
        (
            {"rules": [rule(targets=[target(service="my api")])]},
            "rules.yaml: rules[0]: targets[0].service: 'my api' is not a valid service name (letters, digits,"
            " '-' and '_',"
            " at most 255)",
        ),
        (
            {"rules": [rule(targets=[target(service="x" * 256)])]},
            f"rules.yaml: rules[0]: targets[0].service: '{'x' * 80}...' is not a valid service name (letters,"
            " digits, '-'"
            " and '_', at most 255)",
        ),
        (
            {"rules": [rule(targets=[target(service="{service}")])]},
            "rules.yaml: rules[0]: targets[0].service: unknown template variable {service} (this rule's repository"
            " provides {repository})",
        ),
        (
            {"rules": [rule(repository="re:shop/(?P<app>.+)", targets=[target(), target(cluster="{team}")])]},
            "rules.yaml: rules[0]: targets[1].cluster: unknown template variable {team} (this rule's repository"
            " provides {repository}, {app})",
        ),
        (
            {"rules": [rule(targets=[target(service="{repository!r}")])]},
            "rules.yaml: rules[0]: targets[0].service: bad template '{repository!r}': {repository...} has a conversion"
            " or format spec; write plain {repository}",
        ),
        (
            {"rules": [rule(targets=[target(service="{}")])]},
            "rules.yaml: rules[0]: targets[0].service: bad template '{}': {} is not a variable name (write {name}; use"
            " {{ and }} for braces)",
        ),
        (
            {"rules": [rule(targets=[target(service="{a.b}")])]},
            "rules.yaml: rules[0]: targets[0].service: bad template '{a.b}': {a.b} is not a variable name"
            " (write {name};"
            " use {{ and }} for braces)",
        ),
        (
            {"rules": [rule(targets=[target(service="svc-{")])]},
            "rules.yaml: rules[0]: targets[0].service: bad template 'svc-{': Single '{' encountered in format string",
        ),
        (
            {"rules": [rule(repository="re:(?P<app>.+)", targets=[target(service="my {app}")])]},
            "rules.yaml: rules[0]: targets[0].service: template 'my {app}' can never give a valid service"
            " name (letters,"
            " digits, '-', '_')",
        ),
        (
            {"rules": [rule(targets=[target(containers=[])])]},
            "rules.yaml: rules[0]: targets[0].containers: empty list (leave containers out to update every matching"
            " container)",
        ),
        (
            {"rules": [rule(targets=[target(containers=["api", None])])]},
            "rules.yaml: rules[0]: targets[0].containers[1]: missing (expected a non-empty string)",
        ),
        (
            {"rules": [rule(targets=[target(containers=["api/x"])])]},
            "rules.yaml: rules[0]: targets[0].containers[0]: 'api/x' is not a valid container name (letters,"
            " digits, '-'"
            " and '_', at most 255)",
        ),
        (
            {"rules": [rule(targets=[target(region="us-east")])]},
            "rules.yaml: rules[0]: targets[0].region: 'us-east' is not an AWS region such as us-east-1",
        ),
        (
            {"rules": [rule(targets=[target(region="US-EAST-1")])]},
            "rules.yaml: rules[0]: targets[0].region: 'US-EAST-1' is not an AWS region such as us-east-1",
        ),
        (
            {"rules": [rule(targets=[target(role_arn="arn:aws:iam::1111:role/x")])]},
            "rules.yaml: rules[0]: targets[0].role_arn: 'arn:aws:iam::1111:role/x' is not an IAM role ARN"
            " (arn:aws:iam::ACCOUNT:role/NAME)",
        ),
        (
            {"rules": [rule(targets=[target(role_arn="arn:aws:iam::111122223333:user/deployer")])]},
            "rules.yaml: rules[0]: targets[0].role_arn: 'arn:aws:iam::111122223333:user/deployer' is not an"
            " IAM role ARN"
            " (arn:aws:iam::ACCOUNT:role/NAME)",
        ),
    ],
)
def test_errors_name_source_rule_and_field(data: object, message: str) -> None:
    assert error_of(data) == message


def test_error_carries_structured_fields() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config({"rules": [rule(), rule(targets=[target(), target(cluster=None)])]}, "rules.yaml")
    err = caught.value
    assert (err.source, err.rule, err.field) == ("rules.yaml", 1, "targets[1].cluster")
    assert err.problem == "missing (expected a non-empty string)"


@pytest.mark.parametrize(
    "spec",
    [
        target(region="us-gov-west-1"),
        target(region="cn-north-1"),
        target(region="ap-southeast-3"),
        target(role_arn="arn:aws:iam::111122223333:role/team/deploy-er+=,.@_"),
        target(role_arn="arn:aws-cn:iam::111122223333:role/deployer"),
        target(cluster="Shop_Cluster-1", service="API_2"),
    ],
)
def test_valid_target_forms(spec: dict[str, Any]) -> None:
    assert parse_config({"rules": [rule(targets=[spec])]}, "x").rules[0].targets[0].region == spec.get("region")


def test_templates_may_mix_literals_and_variables() -> None:
    data = {
        "rules": [
            rule(
                repository="re:(?P<team>[a-z]+)/(?P<app>[a-z]+)",
                targets=[target(cluster="{team}-prod", service="{team}_{app}", containers=["{app}", "log"])],
            )
        ]
    }
    spec = parse_config(data, "x").rules[0].targets[0]
    assert spec == TargetSpec("{team}-prod", "{team}_{app}", ("{app}", "log"))


# --- seed mode as a document ---------------------------------------------------------------------------------------


def test_seed_document_parses_and_round_trips() -> None:
    data = {"seed": {"service_regex": "repository/[^/]+/([^/]+)$", "cluster_regex": "repository/([^/]+)/"}}
    config = parse_config(data, "x")
    assert config.rules == ()
    assert config.mode == "seed"
    assert config.seed is not None
    assert config.seed.service.pattern == "repository/[^/]+/([^/]+)$"
    assert config.seed.cluster.pattern == "repository/([^/]+)/"
    assert config.seed.strategy == "pin"
    assert parse_config(config.raw, "y").seed == config.seed


@pytest.mark.parametrize(
    ("seed", "message"),
    [
        ("x", "rules.yaml: seed: expected a mapping, got a string"),
        ({"cluster_regex": "(a)"}, "rules.yaml: seed.service_regex: missing (expected a non-empty string)"),
        (
            {"service_regex": "(a)", "cluster_regex": "(b)", "regex": "x"},
            "rules.yaml: seed.regex: unknown key (known keys: service_regex, cluster_regex, strategy)",
        ),
        (
            {"service_regex": "(a", "cluster_regex": "(b)"},
            "rules.yaml: seed.service_regex: invalid regular expression '(a': missing ), unterminated subpattern at"
            " position 0",
        ),
        (
            {"service_regex": "(a)", "cluster_regex": "b"},
            "rules.yaml: seed.cluster_regex: regular expression 'b' has no group; group 1 must capture the"
            " cluster name",
        ),
        (
            {"service_regex": "(a)", "cluster_regex": "(b)", "strategy": "x"},
            "rules.yaml: seed.strategy: expected 'pin' or 'force', got 'x'",
        ),
    ],
)
def test_seed_document_errors(seed: object, message: str) -> None:
    assert error_of({"seed": seed}) == message


# --- text: JSON or YAML ---------------------------------------------------------------------------------------------


def test_text_errors_name_the_source_and_position() -> None:
    with pytest.raises(ConfigError, match=r"^rules\.yaml: invalid YAML at line 3, column 5: "):
        parse_config_text("rules:\n  - repository: x\n    - bad\n", "rules.yaml")
    with pytest.raises(
        ConfigError, match=r"^rules\.json: invalid JSON at line 1, column 12: Expecting value$"
    ):  # looks like JSON, so the JSON error is the one reported
        parse_config_text('{"rules": [}', "rules.json")


def test_yaml_flow_text_that_is_not_json_still_loads() -> None:
    config = parse_config_text("{rules: [{repository: shop/api, targets: [{cluster: a, service: b}]}]}", "x")
    assert config.rules[0].targets == (TargetSpec("a", "b"),)


def test_duplicate_keys_are_errors_in_json_and_yaml() -> None:
    with pytest.raises(ConfigError, match=r"^x: duplicate key 'rules'$"):
        parse_config_text('{"rules": [], "rules": []}', "x")
    text = "rules:\n  - repository: a\n    targets: []\n    repository: b\n"
    with pytest.raises(ConfigError, match=r"^x: duplicate key 'repository' at line 4 \(first at line 2\)$"):
        parse_config_text(text, "x")


def test_yaml_merge_keys_may_be_overridden() -> None:
    text = """\
defaults:
  target: &base
    cluster: shop
    service: api
rules:
  - repository: shop/api
    targets:
      - <<: *base
        service: web
"""
    assert parse_config_text(text, "x").rules[0].targets == (TargetSpec("shop", "web"),)


def test_yaml_values_json_cannot_hold_are_rejected() -> None:
    text = "rules:\n  - repository: shop/api\n    targets: [{cluster: a, service: b}]\nnotify:\n  since: 2024-05-01\n"
    with pytest.raises(ConfigError, match=r"^x: notify\.since: a date value cannot be stored as JSON \(quote it\)$"):
        parse_config_text(text, "x")


def test_empty_text_and_bom() -> None:
    with pytest.raises(ConfigError, match=r"^x: expected a mapping with a 'rules' list at the top level, got null$"):
        parse_config_text("", "x")
    bom = "\ufeff" + json.dumps({"rules": [rule()]})
    assert parse_config_text(bom, "x").rules[0].repository == "shop/api"


def test_yaml_text_without_pyyaml_names_the_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "yaml", None)  # makes `import yaml` raise ImportError
    with pytest.raises(ConfigError) as caught:
        parse_config_text("rules: []\n", "rules.yaml")
    assert str(caught.value) == (
        "rules.yaml: not JSON, and PyYAML is not installed to read it as YAML (install PyYAML or write JSON)"
    )
    assert parse_config_text(json.dumps({"rules": [rule()]}), "rules.json").rules[0].index == 0


# --- the environment -----------------------------------------------------------------------------------------------


class Files:
    """A read_text fake: serves given texts, raises given errors, records what was read."""

    def __init__(self, texts: dict[str, str] | None = None, error: Exception | None = None) -> None:
        self.texts = texts or {}
        self.error = error
        self.read: list[str] = []

    def __call__(self, path: str) -> str:
        self.read.append(path)
        if self.error is not None:
            raise self.error
        if path not in self.texts:
            raise FileNotFoundError(2, "No such file or directory", path)
        return self.texts[path]


SEED_ENV = {"ECR_SERVICE_REGEX": "repository/[^/]+/([^/]+)$", "ECR_CLUSTER_REGEX": "repository/([^/]+)/"}


def env_error(env: dict[str, str], read_text: Callable[[str], str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        config_from_env(env, read_text or Files())
    return str(caught.value)


def test_env_inline_json() -> None:
    files = Files()
    config = config_from_env({"AUTODEPLOY_CONFIG": json.dumps({"rules": [rule()]})}, files)
    assert config.source == "AUTODEPLOY_CONFIG"
    assert config.rules[0].repository == "shop/api"
    assert files.read == []


def test_env_inline_json_errors_name_the_variable() -> None:
    assert env_error({"AUTODEPLOY_CONFIG": '{"rules": [}'}) == (
        "AUTODEPLOY_CONFIG: invalid JSON at line 1, column 12: Expecting value"
    )
    # Inline text is JSON only: YAML flow style is not accepted there.
    assert env_error({"AUTODEPLOY_CONFIG": "{rules: []}"}).startswith("AUTODEPLOY_CONFIG: invalid JSON at line 1")
    assert env_error({"AUTODEPLOY_CONFIG": json.dumps({"rules": [rule(strategy="x")]})}) == (
        "AUTODEPLOY_CONFIG: rules[0]: strategy: expected 'pin' or 'force', got 'x'"
    )


def test_env_path_is_read_and_named() -> None:
    files = Files({"/etc/rules.yaml": ISSUE_EXAMPLE})
    config = config_from_env({"AUTODEPLOY_CONFIG": " /etc/rules.yaml "}, files)
    assert files.read == ["/etc/rules.yaml"]
    assert config.source == "/etc/rules.yaml"
    assert len(config.rules) == 2
    bad = Files({"r.yaml": "rules:\n  - repository: shop/api\n"})
    assert env_error({"AUTODEPLOY_CONFIG": "r.yaml"}, bad) == (
        "r.yaml: rules[0]: targets: missing (expected a list of targets)"
    )


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            FileNotFoundError(2, "No such file or directory"),
            "rules.yaml: cannot read the rules file AUTODEPLOY_CONFIG names: No such file or directory",
        ),
        (
            PermissionError(13, "Permission denied"),
            "rules.yaml: cannot read the rules file AUTODEPLOY_CONFIG names: Permission denied",
        ),
        (OSError("disk on fire"), "rules.yaml: cannot read the rules file AUTODEPLOY_CONFIG names: disk on fire"),
        (IsADirectoryError(), "rules.yaml: cannot read the rules file AUTODEPLOY_CONFIG names: IsADirectoryError"),
        (
            UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
            "rules.yaml: not UTF-8 text (byte 0: invalid start byte)",
        ),
    ],
)
def test_env_unreadable_file_is_named(error: Exception, message: str) -> None:
    assert env_error({"AUTODEPLOY_CONFIG": "rules.yaml"}, Files(error=error)) == message


def test_env_seed_mode() -> None:
    config = config_from_env(SEED_ENV, Files())
    assert config.source == "environment"
    assert config.rules == ()
    assert config.mode == "seed"
    assert config.seed is not None
    assert config.seed.service.pattern == SEED_ENV["ECR_SERVICE_REGEX"]
    assert config.seed.cluster.pattern == SEED_ENV["ECR_CLUSTER_REGEX"]
    assert config.seed.strategy == "pin"
    assert config.raw == {
        "seed": {
            "service_regex": SEED_ENV["ECR_SERVICE_REGEX"],
            "cluster_regex": SEED_ENV["ECR_CLUSTER_REGEX"],
            "strategy": "pin",
        }
    }
    assert parse_config(json.loads(json.dumps(config.raw)), "embedded").seed == config.seed


@pytest.mark.parametrize(("value", "expected"), [("force", "force"), ("pin", "pin"), ("", "pin"), (" force ", "force")])
def test_env_seed_strategy(value: str, expected: str) -> None:
    config = config_from_env({**SEED_ENV, "AUTODEPLOY_STRATEGY": value}, Files())
    assert config.seed is not None
    assert config.seed.strategy == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {},
            "environment: no configuration: set AUTODEPLOY_CONFIG to a rules file path or inline JSON rules, or set"
            " both ECR_SERVICE_REGEX and ECR_CLUSTER_REGEX (seed-compatible mode)",
        ),
        (
            {"AUTODEPLOY_CONFIG": "  ", "ECR_SERVICE_REGEX": "", "AUTODEPLOY_STRATEGY": "force"},
            "environment: no configuration: set AUTODEPLOY_CONFIG to a rules file path or inline JSON rules, or set"
            " both ECR_SERVICE_REGEX and ECR_CLUSTER_REGEX (seed-compatible mode)",
        ),
        (
            {"ECR_SERVICE_REGEX": "(x)"},
            "environment: ECR_CLUSTER_REGEX: missing: ECR_SERVICE_REGEX is set, and seed-compatible mode needs both",
        ),
        (
            {"ECR_CLUSTER_REGEX": "(x)", "ECR_SERVICE_REGEX": " "},
            "environment: ECR_SERVICE_REGEX: missing: ECR_CLUSTER_REGEX is set, and seed-compatible mode needs both",
        ),
        (
            {**SEED_ENV, "ECR_SERVICE_REGEX": "repository/(["},
            "environment: ECR_SERVICE_REGEX: invalid regular expression 'repository/([': unterminated character set at"
            " position 12",
        ),
        (
            {**SEED_ENV, "ECR_CLUSTER_REGEX": "repository/shop"},
            "environment: ECR_CLUSTER_REGEX: regular expression 'repository/shop' has no group; group 1 must capture"
            " the cluster name",
        ),
        (
            {**SEED_ENV, "AUTODEPLOY_STRATEGY": "FORCE"},
            "environment: AUTODEPLOY_STRATEGY: expected 'pin' or 'force', got 'FORCE'",
        ),
    ],
)
def test_env_errors(env: dict[str, str], message: str) -> None:
    assert env_error(env) == message


def test_env_rules_win_over_seed_and_say_so() -> None:
    env = {**SEED_ENV, "AUTODEPLOY_STRATEGY": "bogus", "AUTODEPLOY_CONFIG": json.dumps({"rules": [rule()]})}
    config = config_from_env(env, Files())
    assert config.mode == "rules"
    assert config.seed is None
    assert config.notes == (
        "ECR_SERVICE_REGEX, ECR_CLUSTER_REGEX, AUTODEPLOY_STRATEGY ignored: AUTODEPLOY_CONFIG is set and takes"
        " precedence",
    )


def test_env_rules_alone_have_no_notes() -> None:
    config = config_from_env({"AUTODEPLOY_CONFIG": json.dumps({"rules": [rule()]})}, Files())
    assert config.notes == ()


# --- helpers --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [("shop/api", False), ("shop/*", True), ("shop/api-?", True), ("shop/[ab]pi", True), ("re:shop/.*", False)],
)
def test_is_glob(pattern: str, expected: bool) -> None:
    assert is_glob(pattern) is expected


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("api", None),
        ("A-b_9", None),
        ("x" * 255, None),
        ("", "empty service name"),
        ("x" * 256, f"'{'x' * 80}...' is not a valid service name (letters, digits, '-' and '_', at most 255)"),
        ("a.b", "'a.b' is not a valid service name (letters, digits, '-' and '_', at most 255)"),
        (
            "arn:aws:ecs:us-east-1:123456789012:service/shop/api",
            "'arn:aws:ecs:us-east-1:123456789012:service/shop/api' is an ARN, not a service name (set region and"
            " role_arn for other regions/accounts)",
        ),
    ],
)
def test_name_problem(value: str, problem: str | None) -> None:
    assert name_problem(value, "service") == problem


def test_template_fields() -> None:
    assert template_fields("plain") == ()
    assert template_fields("{a}-{b}-{a}") == ("a", "b")
    assert template_fields("{{not}}-{x}") == ("x",)
    with pytest.raises(ValueError, match="format spec"):
        template_fields("{a:>3}")


def test_parse_config_does_not_modify_its_input() -> None:
    data: dict[str, Any] = {"rules": [rule(tags=["v*", "v*"])], "notify": {"a": 1}}
    before = copy.deepcopy(data)
    parse_config(data, "x")
    assert data == before


def test_config_built_by_hand_is_accepted() -> None:
    config = Config(source="command line", rules=(), seed=None, raw={})
    assert config.mode == "rules"
    assert hash(config) == hash(Config(source="command line", rules=(), seed=None, raw={"x": 1}))
