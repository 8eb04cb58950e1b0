"""ECS ``Deployment State Change`` events: what ECS says became of a deployment (routing: core/routes.py).

    aws.ecs / "ECS Deployment State Change" / SERVICE_DEPLOYMENT_{IN_PROGRESS,COMPLETED,FAILED} -> DeploymentEvent
Other ECS deployment event names -> Ignored. A malformed deployment event raises EventError naming the field.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_deployment_events.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from ecr_autodeploy.core.errors import EventError
from ecr_autodeploy.core.events import Ignored
from ecr_autodeploy.core.routes import (  # re-exported: the install and test code import them from here
    DEPLOYMENT_STATE_CHANGE,
    ECS_SOURCE,
    RECONCILE_DETAIL_TYPE,
    RECONCILE_INPUT,
    RECONCILE_SOURCE,
    Route,
    route,
)
from ecr_autodeploy.core.values import frozen

__all__ = [
    "DEPLOYMENT_STATE_CHANGE",
    "ECS_SOURCE",
    "RECONCILE_DETAIL_TYPE",
    "RECONCILE_INPUT",
    "RECONCILE_SOURCE",
    "DeploymentEvent",
    "DeploymentState",
    "Route",
    "parse_deployment_event",
    "route",
]

DeploymentState = Literal["IN_PROGRESS", "COMPLETED", "FAILED"]
_EVENT_STATES: dict[str, DeploymentState] = {
    "SERVICE_DEPLOYMENT_IN_PROGRESS": "IN_PROGRESS",
    "SERVICE_DEPLOYMENT_COMPLETED": "COMPLETED",
    "SERVICE_DEPLOYMENT_FAILED": "FAILED",
}
# Long form arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/SERVICE; the old short form has no cluster.
_SERVICE_ARN_RE = re.compile(
    r"^arn:aws[a-z-]*:ecs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):service/(?:(?P<cluster>[A-Za-z0-9_-]{1,255})/)?"
    r"(?P<service>[A-Za-z0-9_-]{1,255})\Z"
)


@frozen
class DeploymentEvent:
    """ECS reported a state of one deployment of one service; `cluster` is None for a short-form service ARN."""

    event_id: str
    time: str
    account: str
    region: str
    service_arn: str
    cluster: str | None
    service: str
    deployment_id: str
    state: DeploymentState
    reason: str


def parse_deployment_event(raw: object) -> DeploymentEvent | Ignored:
    """Return the deployment event, or Ignored for other event names; raise EventError naming a malformed field."""
    if not isinstance(raw, Mapping):
        raise EventError("event", f"expected a JSON object, got {type(raw).__name__}")
    event_id = raw.get("id") if isinstance(raw.get("id"), str) else None

    def text(parent: Mapping[str, object], key: str, path: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value:
            got = "missing" if value is None else f"got {type(value).__name__}"
            raise EventError(path, f"expected a non-empty string ({got})", event_id=event_id)
        return value

    detail = raw.get("detail")
    if not isinstance(detail, Mapping):
        raise EventError("detail", "expected an object", event_id=event_id)
    name = text(detail, "eventName", "detail.eventName")
    state = _EVENT_STATES.get(name)
    if state is None:
        return Ignored(event_id, DEPLOYMENT_STATE_CHANGE, f"ECS event {name[:80]!r} is not a deployment state")
    eid = text(raw, "id", "id")
    deployment_id = text(detail, "deploymentId", "detail.deploymentId")
    resources = raw.get("resources")
    if not isinstance(resources, list) or not resources:
        raise EventError("resources", "expected a list holding the service ARN", event_id=eid)
    arn = resources[0]
    if not isinstance(arn, str):
        raise EventError("resources[0]", f"expected a service ARN, got {type(arn).__name__}", event_id=eid)
    match = _SERVICE_ARN_RE.match(arn)
    if match is None:
        raise EventError("resources[0]", f"not an ECS service ARN: {arn[:120]!r}", event_id=eid)
    reason = detail.get("reason")
    return DeploymentEvent(
        event_id=eid,
        time=str(raw.get("time") or detail.get("updatedAt") or ""),
        account=str(raw.get("account") or match.group("account")),
        region=str(raw.get("region") or match.group("region")),
        service_arn=arn,
        cluster=match.group("cluster"),
        service=match.group("service"),
        deployment_id=deployment_id,
        state=state,
        reason=reason if isinstance(reason, str) else "",
    )
