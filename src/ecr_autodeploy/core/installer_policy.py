"""The policy for running `install` and `uninstall` from the CLI: every call they make, on what they make it.

No way up: whoever holds only this policy can never end up with more than the function's computed execution
policy. The function's role is the one thing it writes in IAM, and every statement that writes that role holds
``iam:PermissionsBoundary`` equal to the boundary an administrator created (`ecr-autodeploy bootstrap`, or the
template): the role's effective permissions are its inline policy *within* that boundary, whatever inline policy
is put. It cannot update the role's trust policy (so the role trusts Lambda and nobody else), remove or replace
the boundary, or edit the boundary policy; it may pass the role to Lambda only, and the function's invoke
permission is for EventBridge only. (The same shape as CDK's bootstrap and AWS's delegated-administrator
pattern.)
"""

from __future__ import annotations

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.ecs_grants import service_arn_patterns
from ecr_autodeploy.core.policy import EVENTS, LAMBDA, Policy, document, statement
from ecr_autodeploy.core.scopes import service_scopes
from ecr_autodeploy.core.stack import Stack

# The role-writing actions install and uninstall need; each is allowed only with the boundary on the role.
ROLE_WRITES = ("iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy")


def installer_policy(config: Config, stack: Stack) -> Policy:
    """Return the policy for running `install`/`uninstall` from the CLI: every call they make, on what they make it."""
    local = [s for s in service_scopes(config) if s.role_arn is None]
    rules = [stack.rule_arn(rule) for rule in stack.rule_names]
    boundary = {"ArnEquals": {"iam:PermissionsBoundary": stack.boundary_arn}}
    statements = [
        # The original design's narrow events:PutRule/PutTargets, on this install's rules only.
        statement(
            "Rules",
            [
                "events:PutRule",
                "events:PutTargets",
                "events:DescribeRule",
                "events:ListTargetsByRule",
                "events:RemoveTargets",
                "events:DeleteRule",
            ],
            rules,
        ),
        statement(
            "Function",
            [
                "lambda:GetFunction",
                "lambda:CreateFunction",
                "lambda:UpdateFunctionCode",
                "lambda:UpdateFunctionConfiguration",
                "lambda:GetFunctionEventInvokeConfig",
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:GetPolicy",
                "lambda:RemovePermission",
                "lambda:PublishVersion",
                "lambda:GetAlias",
                "lambda:CreateAlias",
                "lambda:UpdateAlias",
                "lambda:DeleteFunction",
            ],
            [stack.function_arn, f"{stack.function_arn}:*"],
        ),
        # The rules' permission to invoke the function: for EventBridge only, never another principal.
        statement(
            "InvokePermissions",
            ["lambda:AddPermission"],
            [stack.function_arn, f"{stack.function_arn}:*"],
            {"StringEquals": {"lambda:Principal": EVENTS}},
        ),
        statement("ReadExecutionRole", ["iam:GetRole"], [stack.role_arn]),
        statement("WriteExecutionRole", ROLE_WRITES, [stack.role_arn], boundary),
        # No boundary condition here: parliament's action database lacks iam:PermissionsBoundary for DeleteRole
        # (the service authorization reference lists it); deleting the role only takes permissions away.
        statement("RemoveExecutionRole", ["iam:DeleteRole"], [stack.role_arn]),
        statement(
            "PassExecutionRole", ["iam:PassRole"], [stack.role_arn], {"StringEquals": {"iam:PassedToService": LAMBDA}}
        ),
        # install checks that the boundary exists and holds this install's execution policy.
        statement("ReadBoundary", ["iam:GetPolicy", "iam:GetPolicyVersion"], [stack.boundary_arn]),
        deny(
            "KeepBoundaryPolicy",
            ["iam:CreatePolicyVersion", "iam:DeletePolicy", "iam:DeletePolicyVersion", "iam:SetDefaultPolicyVersion"],
            [stack.boundary_arn],
        ),
        deny("KeepBoundaryOnRole", ["iam:DeleteRolePermissionsBoundary"], [stack.role_arn], boundary),
        deny(
            "NoOtherBoundaryOnRole",
            ["iam:PutRolePermissionsBoundary"],
            [stack.role_arn],
            {"ArnNotEquals": {"iam:PermissionsBoundary": stack.boundary_arn}},
        ),
        statement(
            "DeadLetterQueues",
            [
                "sqs:GetQueueUrl",
                "sqs:CreateQueue",
                "sqs:GetQueueAttributes",
                "sqs:SetQueueAttributes",
                "sqs:DeleteQueue",
            ],
            [stack.dlq_arn, stack.target_dlq_arn],
        ),
        statement(
            "LedgerTable",
            [
                "dynamodb:CreateTable",
                "dynamodb:DescribeTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:UpdateTimeToLive",
                "dynamodb:DeleteTable",
            ],
            [stack.table_arn],
        ),
        statement(
            "LogGroup",
            ["logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:DeleteLogGroup"],
            [stack.log_group_arn, f"{stack.log_group_arn}:*"],
        ),
    ]
    if local:
        # install reads the mapped services' task definitions to scope UpdateService, RegisterTaskDefinition
        # and PassRole; DescribeTaskDefinition and ListClusters have no resource-level permissions.
        statements.append(statement("FindTaskRoles", ["ecs:DescribeServices"], service_arn_patterns(stack.site, local)))
        lists = ["ecs:ListClusters"] if any("*" in s.cluster for s in local) else []
        statements.append(statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition", *lists], ["*"]))
        templated = [s for s in local if "*" in s.service]
        if templated:
            clusters = [stack.site.arn("ecs", f"cluster/{s.cluster}", region=s.region) for s in templated]
            statements.append(
                statement("ListServices", ["ecs:ListServices"], ["*"], {"ArnLike": {"ecs:cluster": clusters}})
            )
    return document(statements)


def deny(
    sid: str, actions: list[str], resources: list[str], condition: dict[str, dict[str, str]] | None = None
) -> dict[str, object]:
    """Return a Deny statement (it holds even when the person has other, broader grants)."""
    found = statement(sid, actions, resources, condition)
    found["Effect"] = "Deny"
    return found
