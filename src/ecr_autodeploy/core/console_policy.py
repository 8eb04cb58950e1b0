"""The policy for creating the rule and its Lambda target by hand in the EventBridge console."""

from __future__ import annotations

from ecr_autodeploy.core.policy import Policy, document, statement
from ecr_autodeploy.core.stack import Stack


def console_policy(stack: Stack) -> Policy:
    """Return what the EventBridge console needs to create the rule and its Lambda target by hand."""
    site = stack.site
    return document(
        [
            statement(
                "CreateRule",
                [
                    "events:PutRule",
                    "events:PutTargets",
                    "events:DescribeRule",
                    "events:ListTargetsByRule",
                    "events:EnableRule",
                ],
                [stack.rule_arn(stack.rule_name)],
            ),
            statement("DefaultBus", ["events:DescribeEventBus"], [site.arn("events", "event-bus/default")]),
            # The console's pickers list rules, buses, functions and queues; List* and the pattern tester
            # have no resource-level permissions.
            statement(
                "Browse",
                ["events:ListRules", "events:ListEventBuses", "events:TestEventPattern", "lambda:ListFunctions"],
                ["*"],
            ),
            statement(
                "InvokePermission",
                ["lambda:GetFunction", "lambda:GetPolicy", "lambda:AddPermission"],
                [stack.function_arn],
            ),
            statement(
                "TargetDeadLetterQueue",
                ["sqs:GetQueueAttributes", "sqs:SetQueueAttributes"],
                [stack.target_dlq_arn],
            ),
        ]
    )
