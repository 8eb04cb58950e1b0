"""The emulated ECS rollouts on moto: new PRIMARY deployments, rising counts, failures, circuit-breaker rollback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from moto import mock_aws

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.engine.watch import watch
from ecr_autodeploy.local.ecs_rollout import (
    BREAKER_REASON,
    EXIT_CODE_ANNOTATION,
    EcsRollouts,
    failure_threshold,
    image_health,
)
from ecr_autodeploy.local.images import OCI_MANIFEST, manifest
from tests.functional.world import World

REGION = "us-east-1"


@pytest.fixture
def shop() -> Iterator[tuple[World, EcsRollouts]]:
    with mock_aws():
        world = World()
        world.repository("shop/api")
        world.cluster("shop")
        push(world, "v0")
        world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0"), "envoy": "public.ecr.aws/envoy:1"})
        rollouts = EcsRollouts(Clients(region=REGION), [REGION], settle_ticks=2).hook()
        rollouts.settle()
        try:
            yield world, rollouts
        finally:
            rollouts.unhook()


def push(world: World, tag: str, exit_code: int = 0) -> str:
    annotations = {EXIT_CODE_ANNOTATION: str(exit_code)} if exit_code else None
    body = manifest(f"api-{tag}", OCI_MANIFEST, annotations)
    found = world.ecr().put_image(repositoryName="shop/api", imageManifest=body, imageTag=tag)
    return str(found["image"]["imageId"]["imageDigest"])


def revision(world: World, image: str) -> str:
    """Register a revision of shop-api running `image`; return its ARN."""
    td = world.running("shop", "api")
    params = {k: td[k] for k in ("family", "taskRoleArn", "executionRoleArn", "networkMode", "cpu", "memory")}
    containers: list[Any] = [dict(c, image=image) if c["name"] == "app" else c for c in td["containerDefinitions"]]
    arn = world.ecs().register_task_definition(**params, containerDefinitions=containers)
    return str(arn["taskDefinition"]["taskDefinitionArn"])


def describe(world: World) -> dict[str, Any]:
    return dict(world.ecs().describe_services(cluster="shop", services=["api"])["services"][0])


def breaker(world: World, enable: bool = True, rollback: bool = True) -> None:
    world.ecs().update_service(
        cluster="shop",
        service="api",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": enable, "rollback": rollback}},
    )


def test_settled_service_has_one_completed_deployment(shop: tuple[World, EcsRollouts]) -> None:
    world, _ = shop
    (deployment,) = describe(world)["deployments"]
    assert deployment["rolloutState"] == "COMPLETED"
    assert deployment["runningCount"] == deployment["desiredCount"] == 2


def test_update_service_starts_a_new_primary_deployment_that_completes(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    old = describe(world)["deployments"][0]
    arn = revision(world, world.image_uri("shop/api", f"@{push(world, 'v1')}"))

    answer = world.ecs().update_service(cluster="shop", service="api", taskDefinition=arn)["service"]

    primary, active = answer["deployments"]
    assert (primary["status"], primary["rolloutState"], primary["taskDefinition"]) == ("PRIMARY", "IN_PROGRESS", arn)
    assert primary["id"] != old["id"]
    assert (active["id"], active["status"]) == (old["id"], "ACTIVE")
    running = []
    for _ in range(10):
        rollouts.tick()
        primary = describe(world)["deployments"][0]
        running.append(primary["runningCount"])
    assert running == sorted(running)
    assert running[0] < 2
    svc = describe(world)
    assert [d["rolloutState"] for d in svc["deployments"]] == ["COMPLETED"]
    assert svc["taskDefinition"] == arn
    assert svc["runningCount"] == 2
    names = [json.loads(e["Detail"])["eventName"] for e in rollouts.emitted]
    assert names == ["SERVICE_DEPLOYMENT_IN_PROGRESS", "SERVICE_DEPLOYMENT_COMPLETED"]
    assert any("has reached a steady state" in e["message"] for e in svc["events"])


def test_forced_new_deployment_gets_a_new_id(shop: tuple[World, EcsRollouts]) -> None:
    world, _ = shop
    old = describe(world)["deployments"][0]["id"]
    answer = world.ecs().update_service(cluster="shop", service="api", forceNewDeployment=True)["service"]
    assert [d["status"] for d in answer["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert answer["deployments"][0]["id"] != old
    assert answer["deployments"][1]["id"] == old


def test_update_without_change_starts_no_deployment(shop: tuple[World, EcsRollouts]) -> None:
    world, _ = shop
    current = describe(world)
    answer = world.ecs().update_service(cluster="shop", service="api", taskDefinition=current["taskDefinition"])
    assert [d["id"] for d in answer["service"]["deployments"]] == [d["id"] for d in current["deployments"]]


def test_broken_image_fails_and_the_circuit_breaker_rolls_back(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    breaker(world)
    previous = describe(world)["taskDefinition"]
    arn = revision(world, world.image_uri("shop/api", f"@{push(world, 'bad', exit_code=3)}"))
    ours = world.ecs().update_service(cluster="shop", service="api", taskDefinition=arn)["service"]["deployments"][0]

    for _ in range(failure_threshold(2)):
        rollouts.tick()

    back, failed, _ = describe(world)["deployments"]
    assert failed["id"] == ours["id"]
    assert (failed["status"], failed["rolloutState"], failed["rolloutStateReason"]) == (
        "ACTIVE",
        "FAILED",
        BREAKER_REASON,
    )
    assert failed["failedTasks"] == 3
    assert (back["status"], back["rolloutState"], back["taskDefinition"]) == ("PRIMARY", "IN_PROGRESS", previous)
    for _ in range(10):
        rollouts.tick()
    svc = describe(world)
    assert [(d["taskDefinition"], d["rolloutState"]) for d in svc["deployments"]] == [(previous, "COMPLETED")]
    assert svc["taskDefinition"] == previous
    messages = [e["message"] for e in svc["events"]]
    assert any("exited (exit code 3)" in m for m in messages)
    assert any("rolling back to deployment" in m for m in messages)
    failed_events = [json.loads(e["Detail"]) for e in rollouts.emitted if "FAILED" in e["Detail"]]
    assert [(e["eventName"], e["eventType"], e["deploymentId"]) for e in failed_events] == [
        ("SERVICE_DEPLOYMENT_FAILED", "ERROR", ours["id"])
    ]


def test_the_watcher_reports_failed_and_rolled_back_while_ecs_advances(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    breaker(world)
    arn = revision(world, world.image_uri("shop/api", f"@{push(world, 'bad', exit_code=1)}"))
    ours = world.ecs().update_service(cluster="shop", service="api", taskDefinition=arn)["service"]["deployments"][0]

    status = watch(
        Cluster(Clients(region=REGION)), ServiceRef(REGION, "shop", "api"), ours["id"], timeout=60, interval=1,
        sleep=lambda _: rollouts.tick(),
    )  # fmt: skip

    assert (status.state, status.rolled_back) == ("FAILED", True)


def test_without_the_circuit_breaker_a_broken_deployment_never_ends(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    breaker(world, enable=False, rollback=False)
    arn = revision(world, world.image_uri("shop/api", f"@{push(world, 'bad', exit_code=1)}"))
    world.ecs().update_service(cluster="shop", service="api", taskDefinition=arn)
    for _ in range(20):
        rollouts.tick()
    primary = describe(world)["deployments"][0]
    assert (primary["rolloutState"], primary["failedTasks"], primary["runningCount"]) == ("IN_PROGRESS", 20, 0)


def test_failed_without_rollback_stays_primary(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    breaker(world, rollback=False)
    arn = revision(world, world.image_uri("shop/api", f"@{push(world, 'bad', exit_code=1)}"))
    world.ecs().update_service(cluster="shop", service="api", taskDefinition=arn)
    for _ in range(6):
        rollouts.tick()
    svc = describe(world)
    assert [(d["status"], d["rolloutState"]) for d in svc["deployments"]] == [
        ("PRIMARY", "FAILED"),
        ("ACTIVE", "COMPLETED"),
    ]
    assert svc["taskDefinition"] == arn


def test_image_health_pull_errors_and_exit_codes(shop: tuple[World, EcsRollouts]) -> None:
    world, _ = shop
    good = push(world, "v1")
    bad = push(world, "bad", exit_code=2)
    assert image_health(world.image_uri("shop/api", f"@{good}")).starts
    assert image_health(world.image_uri("shop/api", ":v1")).starts
    assert image_health("public.ecr.aws/envoy:1").starts
    crashed = image_health(world.image_uri("shop/api", f"@{bad}"))
    assert (crashed.starts, crashed.reason) == (False, "Essential container in task exited (exit code 2)")
    for missing in (world.image_uri("shop/api", ":nope"), world.image_uri("shop/none", ":v1")):
        health = image_health(missing)
        assert not health.starts
        assert health.reason.startswith("CannotPullContainerError")


def test_a_failed_rollback_is_not_rolled_back_again(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    breaker(world)
    world.ecr().batch_delete_image(repositoryName="shop/api", imageIds=[{"imageTag": "v0"}])  # now unpullable
    arn = revision(world, world.image_uri("shop/api", f"@{push(world, 'bad', exit_code=1)}"))
    world.ecs().update_service(cluster="shop", service="api", taskDefinition=arn)
    for _ in range(20):
        rollouts.tick()
    states = [(d["status"], d["rolloutState"]) for d in describe(world)["deployments"]]
    assert states == [("PRIMARY", "FAILED"), ("ACTIVE", "FAILED"), ("ACTIVE", "COMPLETED")]


@pytest.mark.parametrize(("desired", "threshold"), [(1, 3), (2, 3), (10, 5), (11, 6), (1000, 200)])
def test_failure_threshold_is_half_the_desired_count_within_3_and_200(desired: int, threshold: int) -> None:
    assert failure_threshold(desired) == threshold


def test_unhook_gives_update_service_back_to_moto(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    rollouts.unhook()
    before = describe(world)["deployments"]
    answer = world.ecs().update_service(cluster="shop", service="api", forceNewDeployment=True)["service"]
    assert len(answer["deployments"]) == len(before) == 1
