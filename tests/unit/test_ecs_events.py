"""ECS deployment events and the reconcile input: routing, parsing, malformed fields named."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from ecr_autodeploy.core.ecs_events import DeploymentEvent, parse_deployment_event
from ecr_autodeploy.core.errors import EventError
from ecr_autodeploy.core.events import Ignored
from ecr_autodeploy.core.routes import RECONCILE_INPUT, route
from tests.samples import load_event

SAMPLE = "other_source_ecs_deployment_state_change"


def test_routes() -> None:
    assert route(load_event(SAMPLE)) == "deployment"
    assert route(dict(RECONCILE_INPUT)) == "reconcile"
    assert route(load_event("replicate_success_tagged")) == "image"
    assert route("not an event") == "image"  # the image path names what is wrong with it


def test_parses_the_documented_sample() -> None:
    event = parse_deployment_event(load_event(SAMPLE))

    assert event == DeploymentEvent(
        event_id="ddca6449-b258-46c0-8653-e0e3a6d0c9f3",
        time="2024-05-08T20:48:14Z",
        account="123456789012",
        region="us-east-1",
        service_arn="arn:aws:ecs:us-east-1:123456789012:service/shop/api",
        cluster="shop",
        service="api",
        deployment_id="ecs-svc/4231788471093212981",
        state="COMPLETED",
        reason="ECS deployment ecs-svc/4231788471093212981 completed.",
    )


@pytest.mark.parametrize(
    ("name", "state"),
    [
        ("SERVICE_DEPLOYMENT_IN_PROGRESS", "IN_PROGRESS"),
        ("SERVICE_DEPLOYMENT_COMPLETED", "COMPLETED"),
        ("SERVICE_DEPLOYMENT_FAILED", "FAILED"),
    ],
)
def test_states(name: str, state: str) -> None:
    raw = load_event(SAMPLE)
    raw["detail"]["eventName"] = name
    event = parse_deployment_event(raw)
    assert isinstance(event, DeploymentEvent)
    assert event.state == state


def test_short_service_arn_has_no_cluster() -> None:
    raw = load_event(SAMPLE)
    raw["resources"] = ["arn:aws:ecs:us-east-1:123456789012:service/api"]
    event = parse_deployment_event(raw)
    assert isinstance(event, DeploymentEvent)
    assert (event.cluster, event.service) == (None, "api")


def test_other_event_names_are_ignored() -> None:
    raw = load_event(SAMPLE)
    raw["detail"]["eventName"] = "SERVICE_TASK_PLACEMENT_FAILURE"
    assert isinstance(parse_deployment_event(raw), Ignored)


def _without(path: str) -> dict[str, Any]:
    raw: dict[str, Any] = copy.deepcopy(load_event(SAMPLE))
    parent = raw
    *parents, last = path.split(".")
    for key in parents:
        parent = parent[key]
    del parent[last]
    return raw


@pytest.mark.parametrize("path", ["detail", "detail.eventName", "detail.deploymentId", "resources", "id"])
def test_a_missing_field_is_named(path: str) -> None:
    with pytest.raises(EventError) as err:
        parse_deployment_event(_without(path))
    assert err.value.field == path


@pytest.mark.parametrize("arn", ["arn:aws:ecs:us-east-1:123456789012:cluster/shop", "shop/api", 7])
def test_a_resource_that_is_not_a_service_arn_is_named(arn: object) -> None:
    raw = load_event(SAMPLE)
    raw["resources"] = [arn]
    with pytest.raises(EventError) as err:
        parse_deployment_event(raw)
    assert err.value.field == "resources[0]"
