"""ECS's own deployment model on moto (with the emulator's Service Deployments API): other controllers are skipped
with what to do; the Lambda path judges each outcome by the service deployment; `continue` resumes a pause."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.cli.main import cli
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.outcomes import Outcome
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.local import events
from ecr_autodeploy.local.ecs_rollout import ERRORS_ANNOTATION, EcsRollouts
from ecr_autodeploy.local.images import OCI_MANIFEST, manifest
from ecr_autodeploy.wiring import LEDGER_ENV, build_app
from tests.functional.rollouts import TABLE, ledger_table
from tests.functional.world import World

REGION = "us-east-1"
CANARY = {"strategy": "CANARY", "canary_percent": 10, "canary_bake_minutes": 5, "bake_minutes": 10}


def rules(deployment: dict[str, Any] | None = None, **rule: Any) -> list[dict[str, Any]]:
    found: dict[str, Any] = {"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}], **rule}
    if deployment is not None:
        found["deployment"] = deployment
    return [found]


def app(items: list[dict[str, Any]]) -> Dispatcher:
    config = parse_config({"rules": items}, "rules.yaml")
    return build_app(config, Clients(region=REGION), env={LEDGER_ENV: TABLE})


@pytest.fixture
def shop(world: World) -> Iterator[tuple[World, EcsRollouts]]:
    ledger_table()
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", f"@{push(world, 'v0')}")})
    world.ecs().update_service(
        cluster="shop",
        service="api",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    rollouts = EcsRollouts(Clients(region=REGION), [REGION], settle_ticks=1, minute_s=1e-6).hook()
    rollouts.settle()
    try:
        yield world, rollouts
    finally:
        rollouts.unhook()


def push(world: World, tag: str, errors: int = 0) -> str:
    annotations = {ERRORS_ANNOTATION: str(errors)} if errors else None
    body = manifest(f"api-{tag}", OCI_MANIFEST, annotations)
    return str(
        world.ecr().put_image(repositoryName="shop/api", imageManifest=body, imageTag=tag)["image"]["imageId"][
            "imageDigest"
        ]
    )


def settle(rollouts: EcsRollouts, d: Dispatcher, ticks: int = 30) -> list[Outcome]:
    """Tick the emulated ECS and hand every ECS event it emits to the function; return the function's outcomes."""
    outcomes: list[Outcome] = []
    for _ in range(ticks):
        rollouts.tick()
        emitted, rollouts.emitted[:] = list(rollouts.emitted), []
        for entry in emitted:
            raw = {
                "version": "0",
                "id": f"ecs-{len(outcomes)}",
                "detail-type": entry["DetailType"],
                "source": entry["Source"],
                "account": "123456789012",
                "time": "2026-01-01T00:00:00Z",
                "region": REGION,
                "resources": entry["Resources"],
                "detail": json.loads(entry["Detail"]),
            }
            outcomes.extend(d.handle(raw).outcomes)
    return outcomes


@pytest.mark.parametrize(
    ("controller", "says"),
    [("CODE_DEPLOY", "Deploy it with CodeDeploy"), ("EXTERNAL", "managed by another tool")],
)
def test_a_service_of_another_controller_is_skipped_saying_what_to_do_and_nothing_is_registered(
    world: World, controller: str, says: str
) -> None:
    ledger_table()
    world.repository("shop/api")
    world.cluster("shop")
    image = world.image_uri("shop/api", ":v0")
    arn = world.ecs().register_task_definition(
        family="shop-api", containerDefinitions=[{"name": "app", "image": image, "memory": 256}]
    )
    world.ecs().create_service(
        cluster="shop",
        serviceName="api",
        taskDefinition=arn["taskDefinition"]["taskDefinitionArn"],
        desiredCount=2,
        deploymentController={"type": controller},  # type: ignore[typeddict-item]
    )
    digest = world.push("shop/api", "v1", "one")
    result = app(rules()).handle(events.replicate("shop/api", digest, "v1"))  # no DeployError: nothing for the DLQ
    (outcome,) = result.outcomes
    assert outcome.status == "skipped"
    assert controller in outcome.reason
    assert says in outcome.reason
    assert world.revisions("shop-api") == 1
    code = CliRunner().invoke(
        cli, ["--region", REGION, "deploy", "--cluster", "shop", "--service", "api", "--image", f"shop/api@{digest}"]
    )
    assert code.exit_code == 1
    assert controller in code.stderr


def test_a_canary_set_by_the_rule_completes_judged_by_its_service_deployment(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    d = app(rules(CANARY))
    (deployed,) = d.handle(events.replicate("shop/api", push(world, "v1"), "v1")).outcomes
    assert deployed.status == "deployed"
    config = world.ecs().describe_services(cluster="shop", services=["api"])["services"][0]["deploymentConfiguration"]
    assert config["strategy"] == "CANARY"
    assert config["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}  # kept
    judged = [o for o in settle(rollouts, d) if o.status != "in_progress"]
    assert [(o.status, o.deployment_id) for o in judged] == [("completed", deployed.deployment_id)]
    assert judged[0].service_deployment is not None


def test_a_canary_s_alarm_rollback_is_rollout_failed_naming_the_alarm(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    d = app(rules({**CANARY, "alarms": ["api-5xx"]}, rollback=True))
    before = world.running("shop", "api")["taskDefinitionArn"]
    d.handle(events.replicate("shop/api", push(world, "v1", errors=40), "v1"))
    judged = [o for o in settle(rollouts, d) if o.status not in ("in_progress", "ignored")]
    assert [(o.status, o.rolled_back, o.alarms) for o in judged] == [("rollout_failed", True, ("api-5xx",))]
    assert "api-5xx" in judged[0].reason
    assert world.running("shop", "api")["taskDefinitionArn"] == before
    assert rollouts.book.requests == [], "ECS rolled it back: this tool did not stop it too"


def test_a_circuit_breaker_rollback_is_rollout_failed_rolled_back(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    d = app(rules(rollback=True))
    body = manifest("api-broken", OCI_MANIFEST, {"ecr-autodeploy.demo/exit-code": "1"})
    digest = world.ecr().put_image(repositoryName="shop/api", imageManifest=body, imageTag="v1")["image"]["imageId"][
        "imageDigest"
    ]
    d.handle(events.replicate("shop/api", digest, "v1"))
    judged = [o for o in settle(rollouts, d) if o.status not in ("in_progress", "ignored")]
    assert [(o.status, o.rolled_back) for o in judged] == [("rollout_failed", True)]
    assert "ECS is rolling back" in judged[0].reason


def test_continue_resumes_a_deployment_paused_at_its_hook(shop: tuple[World, EcsRollouts]) -> None:
    world, rollouts = shop
    d = app(rules({**CANARY, "pause": ["POST_TEST_TRAFFIC_SHIFT"]}))
    d.handle(events.replicate("shop/api", push(world, "v1"), "v1"))
    assert [o.status for o in settle(rollouts, d, ticks=8) if o.status != "in_progress"] == []
    runner = CliRunner()
    dry = runner.invoke(cli, ["--region", REGION, "continue", "--cluster", "shop", "api", "--dry-run", "--json"])
    assert dry.exit_code == 0, dry.stderr
    assert '"stage": "POST_TEST_TRAFFIC_SHIFT"' in dry.stdout
    assert rollouts.book.requests == []
    done = runner.invoke(cli, ["--region", REGION, "continue", "--cluster", "shop", "api"])
    assert done.exit_code == 0, done.stderr
    assert "sent CONTINUE" in done.stdout
    assert [o.status for o in settle(rollouts, d) if o.status != "in_progress"] == ["completed"]
    again = runner.invoke(cli, ["--region", REGION, "continue", "--cluster", "shop", "api"])
    assert again.exit_code == 1
    assert "not paused" in again.stderr
