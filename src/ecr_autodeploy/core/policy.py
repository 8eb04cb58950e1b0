"""IAM policy documents as data: statements, documents, and the resource policies install attaches.

Statements keep their resources in the order given (the template's pseudo parameters would sort differently
from real values) and sort their actions, so the same rules always give the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ecr_autodeploy.core.stack import Stack

VERSION = "2012-10-17"
ECS_TASKS = "ecs-tasks.amazonaws.com"
LAMBDA = "lambda.amazonaws.com"
EVENTS = "events.amazonaws.com"

Policy = dict[str, Any]


def statement(
    sid: str, actions: Iterable[str], resources: Iterable[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Return an Allow statement with sorted actions and de-duplicated resources (in the order given).

    Resources are not sorted: the template's pseudo parameters would sort differently from real values.
    """
    found: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": list(dict.fromkeys(resources)),
    }
    if condition:
        found["Condition"] = condition
    return found


def document(statements: Sequence[dict[str, Any]]) -> Policy:
    """Return a policy document holding `statements`."""
    return {"Version": VERSION, "Statement": list(statements)}


def trust_policy(service: str = LAMBDA) -> Policy:
    """Return the trust policy letting `service` assume a role."""
    return document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}])


def target_dlq_policy(stack: Stack) -> Policy:
    """Return the queue policy letting this install's rules (and only them) dead-letter undeliverable events."""
    return document(
        [
            {
                "Sid": "RuleDeadLetters",
                "Effect": "Allow",
                "Principal": {"Service": EVENTS},
                "Action": "sqs:SendMessage",
                "Resource": stack.target_dlq_arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": [stack.rule_arn(rule) for rule in stack.rule_names]}},
            }
        ]
    )
