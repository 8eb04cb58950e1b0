"""The install, uninstall, policy, template and package commands, run through the CLI against moto."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from ecr_autodeploy.aws.lambda_package import SIZE_TARGET, build_package
from ecr_autodeploy.cli.main import cli
from tests.functional.installs import (
    NAME,
    REGION,
    inventory,
    nothing_left,
    shop,
    write_rules,
)
from tests.functional.world import World


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    return write_rules(tmp_path)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["--region", REGION, *args])


def test_dry_run_prints_every_call_as_data_and_changes_nothing(world: World, rules_file: Path) -> None:
    shop(world)
    result = run("install", "--config", str(rules_file), "--dry-run", "--output", "json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert [s["operation"] for s in plan][:4] == ["check_boundary", "create_queue", "create_queue", "create_table"]
    function = next(s for s in plan if s["operation"] == "create_function")
    assert function["params"]["Code"]["ZipFile"]["bytes"] > 1000
    assert function["params"]["LoggingConfig"]["LogFormat"] == "JSON"
    assert inventory() == nothing_left()


def test_install_and_uninstall_commands(world: World, rules_file: Path) -> None:
    shop(world)
    assert run("bootstrap", "--config", str(rules_file)).exit_code == 0
    installed = run("install", "--config", str(rules_file), "--json")
    assert installed.exit_code == 0, installed.output
    report = json.loads(installed.stdout)
    assert report["rule_names"] == [NAME, f"{NAME}-deployments", f"{NAME}-reconcile"]
    assert inventory()["functions"] == [NAME]
    removed = run("uninstall")
    assert removed.exit_code == 0, removed.output
    assert "uninstalled ecr-autodeploy" in removed.stdout
    assert inventory() == nothing_left()


def test_a_bad_name_is_an_error_naming_the_option(world: World, rules_file: Path) -> None:
    result = run("install", "--config", str(rules_file), "--name", "bad name!")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --name: 'bad name!'")


def test_policy_prints_json_only_on_stdout(world: World, rules_file: Path) -> None:
    shop(world)
    result = run("policy", "--config", str(rules_file))
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert set(found) == {"schema_version", "execution", "installer", "console", "target"}
    execution = run("policy", "--config", str(rules_file), "--kind", "execution")
    assert json.loads(execution.stdout) == found["execution"]


def test_template_command_prints_yaml_for_sam(world: World, rules_file: Path) -> None:
    result = run("template", "--config", str(rules_file), "--no-discover")
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.stdout)
    assert document["Transform"] == "AWS::Serverless-2016-10-31"
    assert "--no-discover: NOT GRANTED: RegisterTaskDefinition and PassRole for rules[0].targets[0]" in result.stderr
    assert "role/*" not in result.stdout


def test_package_command_writes_the_zip(tmp_path: Path) -> None:
    target = tmp_path / "lambda.zip"
    result = CliRunner().invoke(cli, ["package", "--zip", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == build_package().data
    assert f"under the {SIZE_TARGET // 1024} KB target" in result.stdout
