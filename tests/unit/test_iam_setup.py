"""Unit tests of the policies for people: the installer's (no way up), the console's (complete), and the
bootstrap plan that writes the boundary."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_autodeploy.core.bootstrap import bootstrap_steps
from ecr_autodeploy.core.console_policy import console_policy
from ecr_autodeploy.core.iam import TaskAccess, execution_policy
from ecr_autodeploy.core.installer_policy import installer_policy
from tests.iam_check import actions, allows
from tests.unit.iam_configs import ACCESS, ACCOUNT, CONFIGS, SHOP, STACK

BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/ecr-autodeploy-boundary"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/ecr-autodeploy"
# Every IAM action that changes what a role may do or who may use it.
ROLE_WRITES = {
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRolePermissionsBoundary",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
}
INSTALLERS = [installer_policy(config, STACK) for config in CONFIGS.values()]


@pytest.mark.parametrize("policy", INSTALLERS, ids=list(CONFIGS))
def test_every_installer_statement_that_writes_a_role_requires_the_boundary(policy: dict[str, Any]) -> None:
    writing = [s for s in policy["Statement"] if s["Effect"] == "Allow" and set(s["Action"]) & ROLE_WRITES]
    assert writing, "the installer writes the function's role"
    for statement in writing:
        assert statement["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": BOUNDARY}}, statement
        assert statement["Resource"] == [ROLE]
    assert actions(policy) & ROLE_WRITES == {"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy"}


def test_the_installer_can_never_get_past_the_boundary() -> None:
    policy = installer_policy(SHOP, STACK)
    inside = {"iam:PermissionsBoundary": BOUNDARY}
    outside = {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/AdministratorAccess"}
    assert allows(policy, "iam:CreateRole", ROLE, inside)
    assert allows(policy, "iam:PutRolePolicy", ROLE, inside)
    for action in ("iam:CreateRole", "iam:PutRolePolicy"):
        assert not allows(policy, action, ROLE)  # without a boundary
        assert not allows(policy, action, ROLE, outside)
        assert not allows(policy, action, f"arn:aws:iam::{ACCOUNT}:role/other", inside)
    # No rewriting who the role trusts, no removing or replacing the boundary, no editing the boundary itself.
    assert not allows(policy, "iam:UpdateAssumeRolePolicy", ROLE, inside)
    assert not allows(policy, "iam:DeleteRolePermissionsBoundary", ROLE, inside)
    assert not allows(policy, "iam:PutRolePermissionsBoundary", ROLE, outside)
    assert not allows(policy, "iam:AttachRolePolicy", ROLE, inside)
    for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy"):
        assert not allows(policy, action, BOUNDARY)
    # The role goes to Lambda only, and the function's invoke permission to EventBridge only.
    assert allows(policy, "iam:PassRole", ROLE, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allows(policy, "iam:PassRole", ROLE, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ecr-autodeploy"
    assert allows(policy, "lambda:AddPermission", function, {"lambda:Principal": "events.amazonaws.com"})
    assert not allows(policy, "lambda:AddPermission", function, {"lambda:Principal": "*"})
    assert not allows(policy, "lambda:AddPermission", function, {"lambda:Principal": f"arn:aws:iam::{ACCOUNT}:root"})


def test_the_installer_policy_is_scoped_to_this_install() -> None:
    policy = installer_policy(SHOP, STACK)
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/ecr-autodeploy"
    assert allows(policy, "events:PutRule", rule)
    assert allows(policy, "events:PutTargets", rule + "-deployments")
    assert not allows(policy, "events:PutRule", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/other")
    assert not allows(policy, "lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other")
    cluster = {"ecs:cluster": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/team"}
    assert allows(policy, "ecs:ListServices", "*", cluster)
    assert not allows(policy, "ecs:ListServices", "*", {"ecs:cluster": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/pay"})


def test_the_boundary_is_the_execution_policy_the_rules_compute() -> None:
    (write, adopt), _notes = bootstrap_steps(STACK, SHOP, ACCESS)
    assert write.operation == "create_policy"
    assert write.params["PolicyName"] == "ecr-autodeploy-boundary"
    assert write.params["PolicyArn"] == BOUNDARY == STACK.boundary_arn
    assert json.loads(write.params["PolicyDocument"]) == execution_policy(SHOP, STACK, ACCESS)
    assert adopt.operation == "put_role_permissions_boundary"
    assert adopt.params == {"RoleName": "ecr-autodeploy", "PermissionsBoundary": BOUNDARY}
    assert bootstrap_steps(STACK, SHOP, TaskAccess.unknown())[0][0].params["PolicyName"] == "ecr-autodeploy-boundary"


def test_the_console_policy_is_the_original_designs_complete() -> None:
    policy = console_policy(STACK)
    rule_actions = {
        "events:PutEvents",
        "events:DeleteRule",
        "events:PutTargets",
        "events:DescribeRule",
        "events:EnableRule",
        "events:PutRule",
        "events:RemoveTargets",
        "events:ListTargetsByRule",
        "events:DisableRule",
    }
    for rule in STACK.rule_names:
        for action in rule_actions:
            assert allows(policy, action, STACK.rule_arn(rule)), (action, rule)
    for action in rule_actions:
        assert allows(policy, action, f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"), action
    for action in ("events:ListRuleNamesByTarget", "events:ListRules", "events:TestEventPattern"):
        assert allows(policy, action, "*")
    assert not allows(policy, "events:PutRule", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/other")
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:ecr-autodeploy"
    assert allows(policy, "lambda:AddPermission", function, {"lambda:Principal": "events.amazonaws.com"})
    assert allows(policy, "lambda:GetFunction", function)
