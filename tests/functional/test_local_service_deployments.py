"""The emulator's Service Deployments API and native strategies, read through the real ECS adapter and watcher.

Each status the judge maps is produced by the emulated ECS: SUCCESSFUL, ROLLBACK_SUCCESSFUL (circuit breaker,
and a canary's alarm), STOPPED (replaced), a PAUSE hook (paused, then continued), and a stop with rollback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.core.model import ServiceDeployment, ServiceRef
from ecr_autodeploy.core.rollout import RolloutStatus, judge_service_deployment
from ecr_autodeploy.engine.paused import find_paused, resume
from ecr_autodeploy.engine.watch import watch
from ecr_autodeploy.local.ecs_native import steps_for
from ecr_autodeploy.local.ecs_rollout import ERRORS_ANNOTATION, EXIT_CODE_ANNOTATION, EcsRollouts
from ecr_autodeploy.local.images import OCI_MANIFEST, manifest
from tests.functional.world import World

REGION = "us-east-1"
API = ServiceRef(REGION, "shop", "api")
CANARY = {
    "strategy": "CANARY",
    "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
    "bakeTimeInMinutes": 10,
    "alarms": {"alarmNames": ["api-5xx"], "enable": True, "rollback": True},
}


@pytest.fixture
def shop() -> Iterator[tuple[World, EcsRollouts, Cluster]]:
    with mock_aws():
        world = World()
        world.repository("shop/api")
        world.cluster("shop")
        world.service("shop", "api", {"app": world.image_uri("shop/api", f"@{push(world, 'v0')}")})
        world.ecs().update_service(
            cluster="shop",
            service="api",
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
        )
        clients = Clients(region=REGION)
        rollouts = EcsRollouts(clients, [REGION], settle_ticks=1, minute_s=1e-6).hook()
        rollouts.settle()
        try:
            yield world, rollouts, Cluster(clients)
        finally:
            rollouts.unhook()


def push(world: World, tag: str, *, exit_code: int = 0, errors: int = 0) -> str:
    annotations = {EXIT_CODE_ANNOTATION: str(exit_code)} if exit_code else {}
    if errors:
        annotations[ERRORS_ANNOTATION] = str(errors)
    body = manifest(f"api-{tag}", OCI_MANIFEST, annotations or None)
    found = world.ecr().put_image(repositoryName="shop/api", imageManifest=body, imageTag=tag)
    return str(found["image"]["imageId"]["imageDigest"])


def deploy(world: World, tag: str, config: dict[str, Any] | None = None, **image: int) -> str:
    """Register a revision running shop/api:tag and deploy it (setting `config`); return the deployment id."""
    digest = push(world, tag, **image)
    td = world.running("shop", "api")
    keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "cpu", "memory", "requiresCompatibilities")
    containers: list[Any] = [
        dict(c, image=world.image_uri("shop/api", f"@{digest}")) for c in td["containerDefinitions"]
    ]
    arn = world.ecs().register_task_definition(**{k: td[k] for k in keep}, containerDefinitions=containers)
    kwargs: dict[str, Any] = {"taskDefinition": arn["taskDefinition"]["taskDefinitionArn"]}
    if config is not None:
        current = world.ecs().describe_services(cluster="shop", services=["api"])["services"][0]
        kwargs["deploymentConfiguration"] = {**current["deploymentConfiguration"], **config}
    found = world.ecs().update_service(cluster="shop", service="api", **kwargs)
    return str(found["service"]["deployments"][0]["id"])


def follow(rollouts: EcsRollouts, cluster: Cluster, deployment_id: str, ticks: int = 40) -> list[RolloutStatus]:
    """Tick the emulated ECS and watch the deployment until it settles (or pauses); return every status seen."""
    seen: list[RolloutStatus] = []

    def tick(seconds: float) -> None:
        rollouts.tick()

    status = watch(
        cluster,
        API,
        deployment_id,
        timeout=ticks,
        interval=1,
        on_progress=lambda s, _: seen.append(s),
        clock=lambda: float(len(seen)),
        sleep=tick,
    )
    seen.append(status)
    return seen


def service_deployment(cluster: Cluster, deployment_id: str) -> ServiceDeployment:
    found = cluster.find_service_deployment(
        API, since=datetime.now(UTC) - timedelta(minutes=5), deployment_id=deployment_id, task_definition=None
    )
    assert found is not None
    return found


def test_a_rolling_deployment_is_followed_by_its_service_deployment_to_successful(
    shop: tuple[World, EcsRollouts, Cluster],
) -> None:
    world, rollouts, cluster = shop
    deployment_id = deploy(world, "v1")
    seen = follow(rollouts, cluster, deployment_id)
    assert seen[0].service_deployment is not None
    assert seen[-1].state == "COMPLETED"
    assert service_deployment(cluster, deployment_id).status == "SUCCESSFUL"
    current = describe(world)["currentServiceDeployment"]
    assert current == seen[-1].service_deployment


def test_a_circuit_breaker_rollback_is_rollback_successful_reported_failed_and_rolled_back(
    shop: tuple[World, EcsRollouts, Cluster],
) -> None:
    world, rollouts, cluster = shop
    deployment_id = deploy(world, "v1", exit_code=1)
    seen = follow(rollouts, cluster, deployment_id)
    assert "IN_PROGRESS" in {s.state for s in seen[:-1]}
    assert any(s.ecs_acting for s in seen[:-1]), "ROLLBACK_IN_PROGRESS is ECS acting, not yet the verdict"
    final = seen[-1]
    assert (final.state, final.rolled_back) == ("FAILED", True)
    assert "circuit breaker" in final.reason
    assert "ROLLBACK_SUCCESSFUL" in final.reason
    assert service_deployment(cluster, deployment_id).status == "ROLLBACK_SUCCESSFUL"


def test_a_canary_walks_its_stages_to_successful(shop: tuple[World, EcsRollouts, Cluster]) -> None:
    world, rollouts, cluster = shop
    deployment_id = deploy(world, "v1", CANARY)
    seen = follow(rollouts, cluster, deployment_id)
    progress = " | ".join(s.progress for s in seen)
    assert next(s.stage for s in seen if s.stage) == "SCALE_UP"
    assert "PRODUCTION_TRAFFIC_SHIFT 10%" in progress, progress
    assert any(s.stage == "BAKE_TIME" and s.stage_minutes == 10 for s in seen)
    assert seen[-1].state == "COMPLETED"
    assert describe(world)["deployments"][0]["rolloutState"] == "COMPLETED"


def test_a_canary_whose_alarm_fires_is_rolled_back_by_ecs_and_reported_failed_naming_the_alarm(
    shop: tuple[World, EcsRollouts, Cluster],
) -> None:
    world, rollouts, cluster = shop
    before = describe(world)["taskDefinition"]
    deployment_id = deploy(world, "v1", CANARY, errors=40)
    final = follow(rollouts, cluster, deployment_id)[-1]
    assert (final.state, final.rolled_back, final.alarms) == ("FAILED", True, ("api-5xx",))
    assert "api-5xx" in final.reason
    assert describe(world)["taskDefinition"] == before
    sd = service_deployment(cluster, deployment_id)
    assert (sd.status, sd.triggered_alarms) == ("ROLLBACK_SUCCESSFUL", ("api-5xx",))
    events = [e["DetailType"] for e in rollouts.emitted if "SERVICE_DEPLOYMENT_FAILED" in e["Detail"]]
    assert events, "ECS reports the alarm rollback as a FAILED deployment"


def test_a_deployment_replaced_by_a_newer_one_is_stopped_and_judged_superseded(
    shop: tuple[World, EcsRollouts, Cluster],
) -> None:
    world, _, cluster = shop
    first = deploy(world, "v1")
    old = service_deployment(cluster, first)
    deploy(world, "v2")
    stopped = service_deployment(cluster, first)
    assert stopped.status == "STOPPED"
    current = describe(world)["currentServiceDeployment"]
    assert judge_service_deployment(first, stopped, current).state == "SUPERSEDED"
    assert judge_service_deployment(first, stopped).state == "FAILED"
    assert old.arn == stopped.arn


def test_a_pause_hook_holds_the_deployment_paused_until_continue(shop: tuple[World, EcsRollouts, Cluster]) -> None:
    world, rollouts, cluster = shop
    hooks = {"lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"]}]}
    deployment_id = deploy(world, "v1", {**CANARY, **hooks})
    paused = follow(rollouts, cluster, deployment_id)[-1]
    assert (paused.state, paused.stage, paused.done) == ("PAUSED", "POST_TEST_TRAFFIC_SHIFT", False)
    for _ in range(5):
        rollouts.tick()
    assert service_deployment(cluster, deployment_id).paused_hook is not None, "a pause is not timed out"
    found = find_paused(cluster, API)
    assert found.hook.hook_id == paused.hook_id
    resume(cluster, found)
    assert follow(rollouts, cluster, deployment_id)[-1].state == "COMPLETED"


def test_stop_with_rollback_rolls_a_native_deployment_back(shop: tuple[World, EcsRollouts, Cluster]) -> None:
    world, rollouts, cluster = shop
    before = describe(world)["taskDefinition"]
    deployment_id = deploy(world, "v1", {**CANARY, "bakeTimeInMinutes": 10**6})
    sd = service_deployment(cluster, deployment_id)
    cluster.stop_service_deployment(API, sd.arn, rollback=True)
    final = follow(rollouts, cluster, deployment_id)[-1]
    assert (final.state, final.rolled_back) == ("FAILED", True)
    assert describe(world)["taskDefinition"] == before


def test_the_stages_of_each_strategy() -> None:
    def stages(config: dict[str, Any]) -> list[tuple[str, float, float]]:
        return [(s.stage, s.production, s.minutes) for s in steps_for(config)]

    assert stages(CANARY)[2:5] == [
        ("PRODUCTION_TRAFFIC_SHIFT", 10.0, 5.0),
        ("PRODUCTION_TRAFFIC_SHIFT", 100.0, 0.0),
        ("BAKE_TIME", 100.0, 10.0),
    ]
    linear = stages({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}})
    assert [p for s, p, _ in linear if s == "PRODUCTION_TRAFFIC_SHIFT"] == [25.0, 50.0, 75.0, 100.0]
    assert [m for s, _, m in linear if s == "PRODUCTION_TRAFFIC_SHIFT"] == [2.0, 2.0, 2.0, 0.0]
    assert [s for s, _, _ in stages({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 3})] == [
        "SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        "PRODUCTION_TRAFFIC_SHIFT",
        "BAKE_TIME",
        "CLEAN_UP",
    ]


def describe(world: World) -> dict[str, Any]:
    return dict(world.ecs().describe_services(cluster="shop", services=["api"])["services"][0])
