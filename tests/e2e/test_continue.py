"""`ecr-autodeploy continue` as a user runs it, against an emulator holding a deployment at a PAUSE hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from ecr_autodeploy.local.ecs_rollout import EcsRollouts
from ecr_autodeploy.local.emulator import FAKE_CREDENTIALS, Emulator

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
REGION = "us-east-1"
PAUSED: dict[str, Any] = {
    "strategy": "CANARY",
    "bakeTimeInMinutes": 1,
    "lifecycleHooks": [{"targetType": "PAUSE", "lifecycleStages": ["POST_SCALE_UP"]}],
}


@pytest.fixture
def emulator() -> Iterator[tuple[Emulator, EcsRollouts]]:
    with Emulator() as emulator:
        clients = emulator.clients(REGION)
        rollouts = EcsRollouts(clients, [REGION], settle_ticks=1, minute_s=1e-6).hook()
        try:
            ecs = clients.ecs(REGION)
            ecs.create_cluster(clusterName="shop")
            defs: list[Any] = [{"name": "app", "image": "public.ecr.aws/nginx/nginx:1", "memory": 128}]
            first = ecs.register_task_definition(family="shop-api", containerDefinitions=defs)
            ecs.create_service(
                cluster="shop",
                serviceName="api",
                taskDefinition=first["taskDefinition"]["taskDefinitionArn"],
                desiredCount=1,
            )
            rollouts.settle()
            second = ecs.register_task_definition(family="shop-api", containerDefinitions=defs)
            ecs.update_service(
                cluster="shop",
                service="api",
                taskDefinition=second["taskDefinition"]["taskDefinitionArn"],
                deploymentConfiguration=PAUSED,  # type: ignore[arg-type]
            )
            for _ in range(3):
                rollouts.tick()
            yield emulator, rollouts
        finally:
            rollouts.unhook()


def run(emulator: Emulator, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": emulator.endpoint_url, "AWS_REGION": REGION}
    command = [sys.executable, "-m", "ecr_autodeploy", "continue", "--cluster", "shop", "api", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=env, check=False)


def test_continue_resumes_the_paused_deployment_and_then_finds_nothing_paused(
    emulator: tuple[Emulator, EcsRollouts],
) -> None:
    server, rollouts = emulator
    done = run(server, "--json")
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert (answer["stage"], answer["action"], answer["dry_run"]) == ("POST_SCALE_UP", "CONTINUE", False)
    assert [r[0] for r in rollouts.book.requests] == ["ContinueServiceDeployment"]
    again = run(server)
    assert again.returncode == 1
    assert again.stderr.startswith("Error: ")
    assert "not paused" in again.stderr
