"""The policy for running `install` and `uninstall` from the CLI: every call they make, on what they make it."""

from __future__ import annotations

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.policy import LAMBDA, Policy, document, statement
from ecr_autodeploy.core.scopes import service_arns, service_scopes
from ecr_autodeploy.core.stack import Stack


def installer_policy(config: Config, stack: Stack) -> Policy:
    """Return the policy for running `install`/`uninstall` from the CLI: every call they make, on what they make it."""
    scopes = service_scopes(config)
    pinned = [s for s in scopes if s.role_arn is None and s.strategy == "pin"]
    rules = [stack.rule_arn(rule) for rule in stack.rule_names]
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
                "lambda:AddPermission",
                "lambda:RemovePermission",
                "lambda:PublishVersion",
                "lambda:GetAlias",
                "lambda:CreateAlias",
                "lambda:UpdateAlias",
                "lambda:DeleteFunction",
            ],
            [stack.function_arn, f"{stack.function_arn}:*"],
        ),
        statement(
            "ExecutionRole",
            [
                "iam:GetRole",
                "iam:CreateRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:DeleteRole",
            ],
            [stack.role_arn],
        ),
        statement(
            "PassExecutionRole", ["iam:PassRole"], [stack.role_arn], {"StringEquals": {"iam:PassedToService": LAMBDA}}
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
    if pinned:
        # install reads the pinned services' task definitions to scope RegisterTaskDefinition and PassRole.
        statements.append(statement("FindTaskRoles", ["ecs:DescribeServices"], service_arns(stack, pinned)))
        lists = ["ecs:ListServices", "ecs:ListClusters"] if not all(s.exact for s in pinned) else []
        statements.append(statement("ReadTaskDefinitions", ["ecs:DescribeTaskDefinition", *lists], ["*"]))
    return document(statements)
