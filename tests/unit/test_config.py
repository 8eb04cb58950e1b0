"""Unit tests of core.config: a whole document, seed mode as a document, and the environment."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from ecr_autodeploy.core.config import Config, Rule, TargetSpec, config_from_env, parse_config, parse_config_text
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.notify import NotifySettings
from ecr_autodeploy.core.tags import TagPolicy
from tests.unit.rule_documents import ISSUE_EXAMPLE, error_of, rule

TOPIC = "arn:aws:sns:us-east-1:123456789012:deploys"


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


def test_raw_keeps_notify_and_is_plain_json() -> None:
    config = parse_config_text(ISSUE_EXAMPLE, "rules.yaml")
    assert config.raw["notify"] == {"sns_topic_arn": TOPIC, "on": ["failed", "drift"]}
    assert config.notify == NotifySettings(sns_topic_arn=TOPIC, on=frozenset({"failed", "drift"}))
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
    data: dict[str, Any] = {"rules": [rule()], "notify": {"sns_topic_arn": TOPIC, "on": ["failed"]}}
    config = parse_config(data, "x")
    data["notify"]["on"].append("drift")
    data["rules"][0]["repository"] = "other"
    assert config.raw["notify"] == {"sns_topic_arn": TOPIC, "on": ["failed"]}
    assert config.raw["rules"][0]["repository"] == "shop/api"


def test_config_is_hashable_and_comparable() -> None:
    a = parse_config({"rules": [rule()], "notify": {"sns_topic_arn": TOPIC}}, "x")
    b = parse_config({"rules": [rule()], "notify": {"sns_topic_arn": TOPIC}}, "x")
    assert a == b
    assert hash(a) == hash(b)


# --- seed mode as a document ---------------------------------------------------------------------------------------


def test_seed_document_parses_and_round_trips() -> None:
    data = {"seed": {"service_regex": "repository/[^/]+/([^/]+)$", "cluster_regex": "repository/([^/]+)/"}}
    config = parse_config(data, "x")
    assert config.rules == ()
    assert config.mode == "seed"
    assert config.seed is not None
    assert config.seed.service.pattern == "repository/[^/]+/([^/]+)$"
    assert config.seed.cluster is not None
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
            "rules.yaml: seed.regex: unknown key (known keys: service_regex, cluster_regex, strategy, families,"
            " pass_roles)",
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
    assert config.seed.cluster is not None
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
            " ECR_SERVICE_REGEX (and ECR_CLUSTER_REGEX, else the default cluster: seed-compatible mode)",
        ),
        (
            {"AUTODEPLOY_CONFIG": "  ", "ECR_SERVICE_REGEX": "", "AUTODEPLOY_STRATEGY": "force"},
            "environment: no configuration: set AUTODEPLOY_CONFIG to a rules file path or inline JSON rules, or set"
            " ECR_SERVICE_REGEX (and ECR_CLUSTER_REGEX, else the default cluster: seed-compatible mode)",
        ),
        (
            {"ECR_CLUSTER_REGEX": "(x)", "ECR_SERVICE_REGEX": " "},
            "environment: ECR_SERVICE_REGEX: missing: ECR_CLUSTER_REGEX is set, and seed-compatible mode needs the"
            " service regex",
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


def test_seed_mode_without_a_cluster_regex_deploys_to_the_default_cluster() -> None:
    config = config_from_env({"ECR_SERVICE_REGEX": "repository/([^/]+)$"}, Files())
    assert config.seed is not None
    assert config.seed.cluster is None
    assert config.raw == {"seed": {"service_regex": "repository/([^/]+)$", "strategy": "pin"}}
    assert parse_config(config.raw, "again").seed == config.seed


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


def test_parse_config_does_not_modify_its_input() -> None:
    data: dict[str, Any] = {"rules": [rule(tags=["v*", "v*"])], "notify": {"on": ["failed"]}}
    before = copy.deepcopy(data)
    parse_config(data, "x")
    assert data == before


def test_config_built_by_hand_is_accepted() -> None:
    config = Config(source="command line", rules=(), seed=None, raw={})
    assert config.mode == "rules"
    assert hash(config) == hash(Config(source="command line", rules=(), seed=None, raw={"x": 1}))


def test_env_seed_mode_can_name_families_and_pass_roles() -> None:
    env = {
        **SEED_ENV,
        "AUTODEPLOY_FAMILIES": "shop-*, api",
        "AUTODEPLOY_PASS_ROLES": "arn:aws:iam::123456789012:role/ecs/*",
    }
    config = config_from_env(env, Files())
    assert config.seed is not None
    assert config.seed.families == ("shop-*", "api")
    assert config.seed.pass_roles == ("arn:aws:iam::123456789012:role/ecs/*",)
    assert parse_config(config.raw, "embedded").seed == config.seed
    with pytest.raises(ConfigError, match=r"^environment: AUTODEPLOY_FAMILIES\[0\]: 'a b' is not a task-definition"):
        config_from_env({**SEED_ENV, "AUTODEPLOY_FAMILIES": "a b"}, Files())
