"""The EventBridge patterns and the schedule of the install rules: exactly what the handler acts on.

``ecr_pattern`` (rule NAME) accepts the event kinds core.events turns into work or an alert:
  * ``ECR Replication Action``, REPLICATE, SUCCESS (deploy) or FAILED (alert);
  * ``ECR Image Action``, PUSH, SUCCESS (DELETE and failed pushes are ignored, so they are not delivered);
  * with ``cloudtrail=True``: CloudTrail ``ReplicateImage``/``PutImage`` records in either detail-type, without
    an ``errorCode`` (a failed call is ignored). Without a CloudTrail trail these never arrive.
``deployment_pattern`` (rule NAME-deployments): ECS deployment state changes, the three states core.ecs_events
reports. The schedule (rule NAME-reconcile) sends the constant ``RECONCILE_INPUT``.
https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html
"""

from __future__ import annotations

from typing import Any

from ecr_autodeploy.core.ecs_events import DEPLOYMENT_STATE_CHANGE, ECS_SOURCE, RECONCILE_INPUT
from ecr_autodeploy.core.events import (
    CLOUDTRAIL_DETAIL_TYPES,
    CLOUDTRAIL_EVENT_NAMES,
    ECR_SOURCE,
    IMAGE_ACTION,
    REPLICATION_ACTION,
)

__all__ = ["DEPLOYMENT_EVENT_NAMES", "RECONCILE_INPUT", "RECONCILE_SCHEDULE", "deployment_pattern", "ecr_pattern"]

RECONCILE_SCHEDULE = "rate(15 minutes)"
DEPLOYMENT_EVENT_NAMES = (
    "SERVICE_DEPLOYMENT_IN_PROGRESS",
    "SERVICE_DEPLOYMENT_COMPLETED",
    "SERVICE_DEPLOYMENT_FAILED",
)


def ecr_pattern(cloudtrail: bool = False) -> dict[str, Any]:
    """Return the pattern (a JSON-ready dict) of the rule that routes new images to the function."""
    branches: list[dict[str, Any]] = [
        {
            "detail-type": [REPLICATION_ACTION],
            "detail": {"action-type": ["REPLICATE"], "result": ["SUCCESS", "FAILED"]},
        },
        {
            "detail-type": [IMAGE_ACTION],
            "detail": {"action-type": ["PUSH"], "result": ["SUCCESS"]},
        },
    ]
    if cloudtrail:
        branches.append(
            {
                "detail-type": list(CLOUDTRAIL_DETAIL_TYPES),
                "detail": {"eventName": list(CLOUDTRAIL_EVENT_NAMES), "errorCode": [{"exists": False}]},
            }
        )
    return {"source": [ECR_SOURCE], "$or": branches}


def deployment_pattern() -> dict[str, Any]:
    """Return the pattern of the rule that routes ECS deployment state changes to the function."""
    return {
        "source": [ECS_SOURCE],
        "detail-type": [DEPLOYMENT_STATE_CHANGE],
        "detail": {"eventName": list(DEPLOYMENT_EVENT_NAMES)},
    }
