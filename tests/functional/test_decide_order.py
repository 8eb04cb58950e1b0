"""The right container, in the right order, of the right kind (decision issue, items 3, 5 and 6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import DeployError
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import build_app
from tests.functional.test_deploy import _set_pushed_at
from tests.functional.world import World

API = [{"cluster": "shop", "service": "api"}]


def app(rules: list[dict[str, Any]]) -> Dispatcher:
    return build_app(parse_config({"rules": rules}, "rules.yaml"), Clients(region="us-east-1"), env={})


@pytest.fixture
def shop(world: World) -> World:
    for name in ("shop/api", "shop/evil", "shop/sidecar"):
        world.repository(name)
    world.cluster("shop")
    return world


def aged(world: World, repository: str, *tags: str) -> dict[str, str]:
    """Push one image per tag, each a minute after the one before; return {tag: digest}."""
    start = datetime.now(UTC) - timedelta(hours=1)
    found = {}
    for minutes, tag in enumerate(tags):
        found[tag] = world.push(repository, tag, f"{repository}-{tag}")
        _set_pushed_at(repository, found[tag], start + timedelta(minutes=minutes))
    return found


def test_a_named_container_only_takes_images_of_the_repository_it_runs(shop: World) -> None:
    shop.service(
        "shop",
        "api",
        {"api": shop.image_uri("shop/api", ":v1"), "envoy": "public.ecr.aws/envoyproxy/envoy:v1.29"},
    )
    rules = [{"repository": "shop/*", "tags": ["*"], "targets": [{**API[0], "containers": ["api"]}]}]
    evil = shop.push("shop/evil", "v1", "evil")

    with pytest.raises(DeployError) as failed:
        app(rules).handle(events.replicate("shop/evil", evil, "v1"))

    (outcome,) = failed.value.outcomes
    assert outcome["error_code"] == "TargetError"
    assert "container 'api' runs repository 'shop/api', not 'shop/evil'" in outcome["reason"]
    assert shop.images_of("shop", "api")["api"].endswith("shop/api:v1")
    # A sidecar from another registry named in containers: never gets the app image.
    sidecar = [{"repository": "shop/api", "tags": ["*"], "targets": [{**API[0], "containers": ["envoy"]}]}]
    with pytest.raises(DeployError) as refused:
        app(sidecar).handle(events.replicate("shop/api", shop.push("shop/api", "v2", "two"), "v2"))
    assert "container 'envoy' runs 'public.ecr.aws/envoyproxy/envoy:v1.29', not an ECR image" in str(
        refused.value.outcomes[0]["reason"]
    )


def test_reconcile_does_not_flip_a_named_container_between_two_repositories(shop: World) -> None:
    shop.service("shop", "api", {"api": shop.image_uri("shop/api", ":v1")})
    aged(shop, "shop/api", "v1")
    aged(shop, "shop/evil", "v9")
    rules = [{"repository": "shop/*", "tags": ["*"], "targets": [{**API[0], "containers": ["api"]}]}]

    with pytest.raises(DeployError) as failed:
        app(rules).reconciler.run("us-east-1")

    by_repository = {o["repository"]: o["status"] for o in failed.value.outcomes}
    assert by_repository == {"shop/api": "unchanged", "shop/evil": "failed", "shop/sidecar": "failed"}
    assert shop.images_of("shop", "api")["api"].endswith("shop/api:v1")


def test_under_a_semver_policy_a_hotfix_of_an_older_line_does_not_replace_the_newer(shop: World) -> None:
    shop.service("shop", "api", {"app": shop.image_uri("shop/api", ":1.4.0")})
    rules = [{"repository": "shop/api", "tags": ["semver:>=1.0.0"], "targets": API}]
    digests = aged(shop, "shop/api", "1.4.0", "1.5.0", "1.4.9")  # 1.4.9 pushed last
    d = app(rules)

    assert [o.status for o in d.handle(events.replicate("shop/api", digests["1.5.0"], "1.5.0")).outcomes] == [
        "deployed"
    ]
    (late,) = d.handle(events.replicate("shop/api", digests["1.4.9"], "1.4.9")).outcomes
    assert late.status == "skipped"
    assert "by semver order" in late.reason
    assert [o.status for o in d.reconciler.run("us-east-1").outcomes] == ["unchanged"]
    assert shop.images_of("shop", "api")["app"].endswith(digests["1.5.0"])


def test_order_push_time_can_be_chosen_under_a_semver_policy(shop: World) -> None:
    shop.service("shop", "api", {"app": shop.image_uri("shop/api", ":1.4.0")})
    rules = [{"repository": "shop/api", "tags": ["semver:>=1.0.0"], "order": "push-time", "targets": API}]
    digests = aged(shop, "shop/api", "1.4.0", "1.5.0", "1.4.9")
    d = app(rules)
    d.handle(events.replicate("shop/api", digests["1.5.0"], "1.5.0"))
    assert [o.status for o in d.handle(events.replicate("shop/api", digests["1.4.9"], "1.4.9")).outcomes] == [
        "deployed"
    ]


def test_two_images_pushed_in_the_same_second_are_equals(shop: World) -> None:
    shop.service("shop", "api", {"app": shop.image_uri("shop/api", ":v0")})
    rules = [{"repository": "shop/api", "tags": ["v*"], "targets": API}]
    when = datetime.now(UTC) - timedelta(minutes=5)
    a, b = shop.push("shop/api", "v1", "a"), shop.push("shop/api", "v2", "b")
    _set_pushed_at("shop/api", a, when)
    _set_pushed_at("shop/api", b, when)
    d = app(rules)
    event = events.replicate("shop/api", a, "v1")
    assert [o.status for o in d.handle(event).outcomes] == ["deployed"]

    # Reconcile does not move the service to its equal; the redelivery then finds it unchanged.
    assert [o.status for o in d.reconciler.run("us-east-1").outcomes] == ["unchanged"]
    assert [o.status for o in d.handle(event).outcomes] == ["unchanged"]
    assert shop.images_of("shop", "api")["app"].endswith(a)


def test_a_single_platform_manifest_never_replaces_a_running_image_index(shop: World) -> None:
    index, _children = shop.push_index("shop/api", "1.3.0", "multi")
    shop.service("shop", "api", {"app": shop.image_uri("shop/api", f"@{index}")})
    amd64 = shop.push("shop/api", "1.3.0-amd64", "amd64-only")  # docker manifest create's per-platform tags
    loose = [{"repository": "shop/api", "tags": ["1.3.*"], "targets": API}]

    (skipped,) = app(loose).handle(events.replicate("shop/api", amd64, "1.3.0-amd64")).outcomes
    assert skipped.status == "skipped"
    assert "multi-platform image index" in skipped.reason
    assert [o.status for o in app(loose).reconciler.run("us-east-1").outcomes] == ["unchanged"]

    opted_in = [{**loose[0], "allow_single_platform": True}]
    (deployed,) = app(opted_in).handle(events.replicate("shop/api", amd64, "1.3.0-amd64")).outcomes
    assert deployed.status == "deployed"
