"""Unit tests of core.documents through parse_config_text: JSON or YAML text, its errors and its limits."""

from __future__ import annotations

import json
import sys
import time

import pytest

from ecr_autodeploy.core.config import parse_config_text
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.rules import TargetSpec
from tests.unit.rule_documents import rule

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
rules:
  - repository: shop/api
    targets:
      - &base
        cluster: shop
        service: api
      - <<: *base
        service: web
"""
    assert parse_config_text(text, "x").rules[0].targets == (TargetSpec("shop", "api"), TargetSpec("shop", "web"))


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


# --- limits: every hostile shape ends as a ConfigError, fast ------------------------------------------------------


def billion_laughs(levels: int) -> str:
    """Return a YAML rules document whose notify block holds 9**levels strings through nested aliases."""
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, levels)]
    return (
        "rules:\n  - repository: shop/api\n    targets: [{cluster: a, service: b}]\n"
        "notify:\n  x: {" + ", ".join(lines) + "}\n"
    )


def test_a_yaml_alias_bomb_is_refused_before_it_is_expanded() -> None:
    started = time.perf_counter()
    with pytest.raises(ConfigError, match=r"^bomb\.yaml: more than 100000 values once its aliases are expanded"):
        parse_config_text(billion_laughs(8), "bomb.yaml")
    assert time.perf_counter() - started < 2


def test_aliases_within_the_limit_still_load() -> None:
    text = "rules:\n  - repository: shop/api\n    targets:\n      - &t {cluster: a, service: b}\n      - *t\n"
    assert len(parse_config_text(text, "x").rules[0].targets) == 2


def test_a_yaml_alias_that_refers_to_itself_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"^x: a YAML alias refers to itself"):
        parse_config_text("rules: &r [*r]\n", "x")


@pytest.mark.parametrize(
    "text",
    [
        "[" * 5000 + "]" * 5000,
        '{"rules": ' + "[" * 40 + "]" * 40 + "}",
        "rules:\n" + "".join(f"{' ' * i}- \n" for i in range(1, 60)),
    ],
    ids=["json-deeper-than-python-recurses", "json-40-levels", "yaml-60-levels"],
)
def test_deep_nesting_is_a_config_error_with_the_limit(text: str) -> None:
    with pytest.raises(ConfigError, match=r"^x: nested more than 32 levels deep"):
        parse_config_text(text, "x")


def test_yaml_deeper_than_python_recurses_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"^x: nested more than 32 levels deep"):
        parse_config_text("rules: " + "[" * 5000 + "]" * 5000 + "\nx: {", "x")


def test_a_huge_integer_is_a_config_error_naming_the_source() -> None:
    with pytest.raises(ConfigError, match=r"^x: a value JSON cannot be read here"):
        parse_config_text('{"rules": [{"repository": "a", "untagged": ' + "9" * 5000 + "}]}", "x")


def test_a_text_over_the_size_limit_is_refused_unread() -> None:
    with pytest.raises(ConfigError, match=r"^x: 1000001 characters; a rules document takes at most 1000000$"):
        parse_config_text(" " * 1_000_001, "x")


def test_yaml_keys_are_text_so_the_documented_on_list_loads() -> None:
    text = (
        "rules:\n  - repository: shop/api\n    targets: [{cluster: a, service: b}]\n"
        "notify:\n  sns_topic_arn: arn:aws:sns:us-east-1:123456789012:deploys\n  on: [failed, drift]\n"
    )
    config = parse_config_text(text, "x")
    assert config.notify is not None
    assert config.notify.on == frozenset({"failed", "drift"})
    assert config.raw["notify"]["on"] == ["failed", "drift"]


def test_yaml_keys_that_read_the_same_as_text_are_duplicates() -> None:
    with pytest.raises(ConfigError, match=r"^x: duplicate key '1' at line 2 \(first at line 1\)$"):
        parse_config_text("1: a\n'1': b\n", "x")
