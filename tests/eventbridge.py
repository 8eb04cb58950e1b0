"""What the handler does with each sample event, and a reference matcher for the EventBridge pattern subset we use.

`verdict` says whether the handler acts on an event ("accepted"), ignores it ("ignored"), or rejects it as a
malformed event of a kind it handles ("malformed"); the install rules must deliver exactly the accepted ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from ecr_autodeploy.core.ecs_events import DeploymentEvent, parse_deployment_event, route
from ecr_autodeploy.core.errors import EventError
from ecr_autodeploy.core.events import CLOUDTRAIL_DETAIL_TYPES, Ignored, parse_event

Verdict = Literal["accepted", "ignored", "malformed"]


def verdict(event: object) -> Verdict:
    """Return what the handler's intake makes of an ECR event."""
    try:
        parsed = parse_event(event)
    except EventError:
        return "malformed"
    return "ignored" if isinstance(parsed, Ignored) else "accepted"


def deployment_verdict(event: object) -> Verdict:
    """Return what the handler's intake makes of an ECS deployment event (anything else: ignored)."""
    if route(event) != "deployment":
        return "ignored"
    try:
        return "accepted" if isinstance(parse_deployment_event(event), DeploymentEvent) else "ignored"
    except EventError:
        return "malformed"


def is_cloudtrail(event: object) -> bool:
    """Return whether an event is a CloudTrail record (delivered only with the --cloudtrail route)."""
    return isinstance(event, Mapping) and event.get("detail-type") in CLOUDTRAIL_DETAIL_TYPES


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Return whether `event` matches `pattern` (exact values, ``exists``, nested objects and ``$or``)."""
    for key, wanted in pattern.items():
        if key == "$or":
            if not any(matches(branch, event) for branch in wanted):
                return False
        elif isinstance(wanted, Mapping):
            value = event.get(key)
            if not isinstance(value, Mapping) or not matches(wanted, value):
                return False
        elif not _field(wanted, key in event, event.get(key)):
            return False
    return True


def _field(wanted: list[Any], present: bool, value: Any) -> bool:
    values = value if isinstance(value, list) else [value]
    for option in wanted:
        if isinstance(option, Mapping):
            if set(option) != {"exists"}:
                raise AssertionError(f"filter {option} is not supported here")
            if option["exists"] == present:
                return True
        elif present and option in values:
            return True
    return False
