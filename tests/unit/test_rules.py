"""Unit tests of core.rules: a rule's defaults, what it matches, and every error naming source, rule and field."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.rules import Rule, TargetSpec, is_glob, name_problem, template_fields
from ecr_autodeploy.core.tags import TagPolicy
from tests.unit.rule_documents import error_of, rule, target


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
            "rules.yaml: rule: unknown key (did you mean 'rules'? known keys: rules, seed, notify)",
        ),
        (
            {"rules": [rule()], "version": 1},
            "rules.yaml: version: unknown key (known keys: rules, seed, notify)",
        ),
        ({"rules": [rule()], "notify": ["x"]}, "rules.yaml: notify: expected a mapping, got a list"),
        (
            {"rules": [rule()], "defaults": {"strategy": "force"}},
            "rules.yaml: defaults: unknown key (known keys: rules, seed, notify)",
        ),
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
            " untagged, order, strategy, allow_downgrade, allow_single_platform, rollback, deployment, approval,"
            " approvers, expires, windows, hold_if_alarm, max_parallel, targets)",
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
            " service, containers, region, role_arn, role_external_id, families, pass_roles, after, soak)",
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
