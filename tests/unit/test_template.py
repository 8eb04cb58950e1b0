"""Unit tests of core.template: cfn-lint clean, and the same policy, patterns and settings as install."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_all
from click.testing import CliRunner

from ecr_autodeploy.aws.installer import plan_install
from ecr_autodeploy.cli.main import cli
from ecr_autodeploy.core.config import ENV_CONFIG, Config, parse_config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.iam import TaskAccess, policies
from ecr_autodeploy.core.installation import RULES_FILE, InstallOptions, Step, rules_json
from ecr_autodeploy.core.stack import Site, Stack
from ecr_autodeploy.core.template import resolve, target_template, template

ACCOUNT = "123456789012"
OTHER = "210987654321"
REGION = "eu-central-1"
CONFIG = parse_config(
    {
        "rules": [
            {"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]},
            {"repository": "re:team/(?P<service>[a-z]+)", "targets": [{"cluster": "team", "service": "{service}"}]},
        ],
        "notify": {"sns_topic_arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:deploys"},
    },
    "rules.yaml",
)
ACCESS = TaskAccess(((None, "shop-api"),), (f"arn:aws:iam::{ACCOUNT}:role/api-task",))
OPTIONS = [
    InstallOptions(),
    InstallOptions(name="deployer", cloudtrail=True, snapstart=True, schedule=None, runtime="python3.13"),
]


def lint(document: dict[str, Any]) -> list[tuple[str, str]]:
    """Return cfn-lint's errors and warnings (informational matches are left out)."""
    return [(m.rule.id, m.message) for m in lint_all(json.dumps(document)) if m.rule.id[0] in "EW"]


@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "snapstart-cloudtrail-no-schedule"])
def test_the_template_passes_cfn_lint(options: InstallOptions) -> None:
    assert lint(template(CONFIG, options, ACCESS)) == []


def test_cfn_lint_does_report_a_broken_template() -> None:
    broken = template(CONFIG, InstallOptions(), ACCESS)
    broken["Resources"]["ImageRule"]["Properties"]["State"] = "MAYBE"
    assert lint(broken) != []


def plan_of(config: Config, options: InstallOptions) -> dict[tuple[str, str], Step]:
    steps = plan_install(config, options, account=ACCOUNT, region=REGION, package=b"zip", access=ACCESS)
    return {(s.operation, s.resource): s for s in steps}


def resolved(options: InstallOptions) -> dict[str, Any]:
    found: dict[str, Any] = resolve(template(CONFIG, options, ACCESS), Site.of(REGION, ACCOUNT))["Resources"]
    return found


@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "snapstart-cloudtrail-no-schedule"])
def test_the_template_uses_the_policy_and_patterns_install_uses(options: InstallOptions) -> None:
    plan = plan_of(CONFIG, options)
    resources = resolved(options)
    role = resources["Role"]["Properties"]
    installed = plan[("put_role_policy", options.name)].params
    assert role["Policies"] == [
        {"PolicyName": installed["PolicyName"], "PolicyDocument": json.loads(installed["PolicyDocument"])}
    ]
    assert role["AssumeRolePolicyDocument"] == json.loads(
        plan[("create_role", options.name)].params["AssumeRolePolicyDocument"]
    )
    rules = {r["Properties"]["Name"]: r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"}
    put_rules = {resource: step.params for (operation, resource), step in plan.items() if operation == "put_rule"}
    assert set(rules) == set(put_rules)
    for name, params in put_rules.items():
        if "EventPattern" in params:
            assert rules[name]["EventPattern"] == json.loads(params["EventPattern"])
        assert rules[name].get("ScheduleExpression") == params.get("ScheduleExpression")
        target = plan[("put_targets", name)].params["Targets"][0]
        (template_target,) = rules[name]["Targets"]
        assert template_target["Id"] == target["Id"]
        assert template_target["RetryPolicy"] == target["RetryPolicy"]
        assert template_target.get("Input") == target.get("Input")
    queue_policy = resources["TargetDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
    queue = plan[("create_queue", f"{options.name}-target-dlq")].params["Attributes"]
    assert queue_policy == json.loads(queue["Policy"])


@pytest.mark.parametrize("options", OPTIONS, ids=["defaults", "snapstart-cloudtrail-no-schedule"])
def test_the_function_has_the_settings_install_gives_it(options: InstallOptions) -> None:
    created = plan_of(CONFIG, options)[("create_function", options.name)].params
    function = resolved(options)["Function"]["Properties"]
    for key in ("FunctionName", "Runtime", "Handler", "Architectures", "MemorySize", "Timeout"):
        assert function[key] == created[key], key
    # install ships the rules inside the package and names the file; the template, with no package, inlines them.
    inline, named = function["Environment"]["Variables"], created["Environment"]["Variables"]
    assert inline.pop(ENV_CONFIG) == rules_json(CONFIG)
    assert named.pop(ENV_CONFIG) == RULES_FILE
    assert inline == named
    assert function["SnapStart"] == created["SnapStart"]
    assert function["LoggingConfig"]["LogFormat"] == created["LoggingConfig"]["LogFormat"] == "JSON"
    invoke = plan_of(CONFIG, options)[("put_function_event_invoke_config", options.name)].params
    assert function["EventInvokeConfig"]["MaximumRetryAttempts"] == invoke["MaximumRetryAttempts"]
    assert function["EventInvokeConfig"]["MaximumEventAgeInSeconds"] == invoke["MaximumEventAgeInSeconds"]
    assert ("AutoPublishAlias" in function) == options.snapstart


def test_arns_use_pseudo_parameters_so_the_template_is_portable() -> None:
    text = json.dumps(template(CONFIG, InstallOptions(), TaskAccess.unknown()))
    assert ACCOUNT not in text.replace(f"arn:aws:sns:{REGION}:{ACCOUNT}:deploys", "")
    assert "${AWS::AccountId}" in text


def test_the_role_is_created_inside_the_boundary_which_holds_the_execution_policy() -> None:
    resources = resolved(InstallOptions())
    boundary = resources["Boundary"]
    assert boundary["Type"] == "AWS::IAM::ManagedPolicy"
    assert boundary["Properties"]["ManagedPolicyName"] == "ecr-autodeploy-boundary"
    role = resources["Role"]["Properties"]
    assert role["PermissionsBoundary"] == {"Ref": "Boundary"}
    assert boundary["Properties"]["PolicyDocument"] == role["Policies"][0]["PolicyDocument"]
    created = plan_of(CONFIG, InstallOptions())[("create_role", "ecr-autodeploy")].params
    assert created["PermissionsBoundary"] == f"arn:aws:iam::{ACCOUNT}:policy/ecr-autodeploy-boundary"


def test_discovered_roles_are_parameters_with_their_names_as_defaults_and_no_account_is_baked_in() -> None:
    document = template(CONFIG, InstallOptions(), ACCESS)
    assert document["Parameters"] == {
        "TaskRole1": {
            "Type": "String",
            "Default": "api-task",
            "Description": "A task or execution role (name with path) the pinned revisions pass to ECS",
        }
    }
    text = json.dumps(document)
    assert ACCOUNT not in text.replace(f"arn:aws:sns:{REGION}:{ACCOUNT}:deploys", "")
    assert "role/${TaskRole1}" in text
    assert lint(document) == []


def test_template_no_discover_needs_no_aws_access(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(CONFIG.raw))
    env = {"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_CONFIG_FILE": "/nonexistent", "AWS_PROFILE": ""}
    result = CliRunner().invoke(
        cli,
        [
            "--endpoint-url",
            "http://127.0.0.1:9",
            "template",
            "--config",
            str(rules),
            "--no-discover",
            "--format",
            "json",
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["Resources"]["Boundary"]["Type"] == "AWS::IAM::ManagedPolicy"


TARGETED = parse_config(
    {
        "rules": [
            {
                "repository": "tools/*",
                "targets": [
                    {
                        "cluster": "x",
                        "service": "y",
                        "role_arn": f"arn:aws:iam::{OTHER}:role/deploy/ecr-autodeploy-target",
                        "role_external_id": "ecr-autodeploy-7f3a",
                        "families": ["tools-y"],
                        "pass_roles": [f"arn:aws:iam::{OTHER}:role/tools-y-task"],
                    }
                ],
            }
        ]
    },
    "rules.yaml",
)


def test_the_target_account_part_is_a_stack_of_its_own() -> None:
    arn = f"arn:aws:iam::{OTHER}:role/deploy/ecr-autodeploy-target"
    document = target_template(TARGETED, InstallOptions(), arn)
    assert lint(document) == []
    properties = document["Resources"]["TargetRole"]["Properties"]
    assert (properties["RoleName"], properties["Path"]) == ("ecr-autodeploy-target", "/deploy/")
    site = Site.of(REGION, OTHER)
    found = resolve(document, site, {"FunctionAccountId": ACCOUNT})["Resources"]["TargetRole"]["Properties"]
    stack = Stack("ecr-autodeploy", Site.of(REGION, ACCOUNT))
    part = policies(TARGETED, stack, TaskAccess.unknown())["target"][arn]
    assert found["AssumeRolePolicyDocument"] == part["trust"]
    assert found["Policies"][0]["PolicyDocument"] == part["permissions"]


def test_a_target_role_the_rules_do_not_name_is_an_error() -> None:
    with pytest.raises(ConfigError, match=r"^--target-role: arn:aws:iam::1:role/x is not a role_arn of the rules"):
        target_template(TARGETED, InstallOptions(), "arn:aws:iam::1:role/x")
