"""AWS's own limits, respected: DescribeImages' 100 ids, the largest listing page, tagged images only (cost issue)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import build_app
from tests.functional.world import World


def recorded(clients: Clients, service: str, operation: str) -> list[dict[str, Any]]:
    """Return the parameters of every `operation` call the clients' `service` client makes from now on."""
    seen: list[dict[str, Any]] = []

    def keep(params: dict[str, Any], **_: Any) -> None:
        seen.append(params)

    clients.client(service).meta.events.register(f"provide-client-params.{service}.{operation}", keep)
    return seen


@pytest.mark.slow
def test_an_event_whose_services_run_150_digests_asks_for_at_most_100_images_a_call(world: World) -> None:
    world.repository("shop/api")
    world.cluster("shop")
    names = [f"svc{i:03d}" for i in range(150)]
    for i, name in enumerate(names):
        digest = world.push("shop/api", f"old-{i}", f"old-{i}")
        world.service("shop", name, {"app": world.image_uri("shop/api", f"@{digest}")})
    rules = [{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": n} for n in names]}]
    clients = Clients(region="us-east-1")
    calls = recorded(clients, "ecr", "DescribeImages")
    new = world.push("shop/api", "v2", "new")

    result = build_app(parse_config({"rules": rules}, "rules.yaml"), clients, env={}).handle(
        events.replicate("shop/api", new, "v2")
    )

    assert Counter(o.status for o in result.outcomes) == {"deployed": 150}
    sizes = [len(c["imageIds"]) for c in calls]
    assert sizes == [100, 51]  # the arrived image and the 150 it replaces, in two calls


def test_the_cloudtrail_route_lists_tagged_images_a_thousand_a_page_once(world: World) -> None:
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    world.push("shop/api", "v1", "one")
    world.push("shop/api", None, "untagged")
    clients = Clients(region="us-east-1")
    calls = recorded(clients, "ecr", "DescribeImages")
    rules = [{"repository": "shop/api", "tags": ["v*"], "targets": [{"cluster": "shop", "service": "api"}]}]

    (outcome,) = (
        build_app(parse_config({"rules": rules}, "rules.yaml"), clients, env={})
        .handle(events.cloudtrail_replicate("shop/api"))
        .outcomes
    )

    assert (outcome.status, outcome.tag) == ("deployed", "v1")
    assert len(calls) == 1  # the listing serves the choice and the downgrade check
    assert calls[0]["filter"] == {"tagStatus": "TAGGED"}
    assert calls[0]["maxResults"] == 1000
