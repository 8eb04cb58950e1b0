"""The policy for creating the rules and their Lambda target by hand in the EventBridge console.

The original design's console policy, complete: the console keeps its "Create rule" button disabled until the
person may call every one of ``events:PutEvents, DeleteRule, PutTargets, DescribeRule, EnableRule, PutRule,
RemoveTargets, ListTargetsByRule, DisableRule`` on the rule and ``event-bus/*``, and ``ListRuleNamesByTarget,
ListRules, TestEventPattern`` (which take no resource). All three rules of an install are covered; the
console's other pickers and the Lambda target's permission and dead-letter queue follow.
"""

from __future__ import annotations

from ecr_autodeploy.core.policy import EVENTS, Policy, document, statement
from ecr_autodeploy.core.stack import Stack

RULE_ACTIONS = (
    "events:PutEvents",
    "events:DeleteRule",
    "events:PutTargets",
    "events:DescribeRule",
    "events:EnableRule",
    "events:PutRule",
    "events:RemoveTargets",
    "events:ListTargetsByRule",
    "events:DisableRule",
)
UNSCOPED_ACTIONS = ("events:ListRuleNamesByTarget", "events:ListRules", "events:TestEventPattern")


def console_policy(stack: Stack) -> Policy:
    """Return what the EventBridge console needs to create the rules and their Lambda target by hand."""
    site = stack.site
    rules = [stack.rule_arn(rule) for rule in stack.rule_names]
    return document(
        [
            statement("CreateRules", RULE_ACTIONS, [*rules, site.arn("events", "event-bus/*")]),
            # These three have no resource-level permissions.
            statement("ConsoleRuleEditor", UNSCOPED_ACTIONS, ["*"]),
            statement("DefaultBus", ["events:DescribeEventBus"], [site.arn("events", "event-bus/default")]),
            # The console's pickers list buses and functions; List* has no resource-level permissions.
            statement("Browse", ["events:ListEventBuses", "lambda:ListFunctions"], ["*"]),
            statement("ReadFunction", ["lambda:GetFunction", "lambda:GetPolicy"], [stack.function_arn]),
            # The rule's permission to invoke the function: for EventBridge only.
            statement(
                "InvokePermission",
                ["lambda:AddPermission"],
                [stack.function_arn],
                {"StringEquals": {"lambda:Principal": EVENTS}},
            ),
            statement(
                "TargetDeadLetterQueue",
                ["sqs:GetQueueAttributes", "sqs:SetQueueAttributes"],
                [stack.target_dlq_arn],
            ),
        ]
    )
