"""Which use case an incoming event is for: an ECS deployment state change, the reconcile schedule, or an image.

Separate from core/ecs_events.py so that routing an image event (the hot path) builds no ECS event classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

ECS_SOURCE = "aws.ecs"
DEPLOYMENT_STATE_CHANGE = "ECS Deployment State Change"
RECONCILE_SOURCE = "ecr-autodeploy"
RECONCILE_DETAIL_TYPE = "Reconcile"
# The schedule rule's constant Input (install creates the rule with exactly this).
RECONCILE_INPUT = {"source": RECONCILE_SOURCE, "detail-type": RECONCILE_DETAIL_TYPE, "detail": {}}

Route = Literal["image", "deployment", "reconcile", "batch"]
BATCH_DETAIL_TYPE = "Fan-out batch"  # core/fanout.py: a share of a fan-out, from the function itself


def route(raw: object) -> Route:
    """Return which use case an event is for: ECS deployment, reconcile schedule, fan-out batch, or image (the rest)."""
    if isinstance(raw, Mapping):
        if raw.get("source") == ECS_SOURCE and raw.get("detail-type") == DEPLOYMENT_STATE_CHANGE:
            return "deployment"
        if raw.get("source") == RECONCILE_SOURCE and raw.get("detail-type") == RECONCILE_DETAIL_TYPE:
            return "reconcile"
        if raw.get("source") == RECONCILE_SOURCE and raw.get("detail-type") == BATCH_DETAIL_TYPE:
            return "batch"
    return "image"
