"""Unit tests of core.documents through parse_config_text: JSON or YAML text, and its errors."""

from __future__ import annotations

import json
import sys

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
