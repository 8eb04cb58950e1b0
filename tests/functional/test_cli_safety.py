"""The safety verbs on moto through the CLI: deploy --wait, status, reconcile, replay of an ECS deployment event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from moto.backends import get_backend

from ecr_autodeploy.engine.deploy import LEDGER_OFF_NOTE
from ecr_autodeploy.local.events import deployment_event
from tests.functional.cli_runs import run
from tests.functional.rollouts import BREAKER_REASON
from tests.functional.test_deploy import _set_pushed_at
from tests.functional.world import ACCOUNT, World


def shop(world: World, monkeypatch: pytest.MonkeyPatch, running: int = 0) -> str:
    """Create the service; moto marks its one deployment COMPLETED when `running` covers the desired 2."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running))
    world.ledger()
    world.repository("shop/api")
    world.cluster("shop")
    return world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})


def moto_deployment(**changes: object) -> None:
    # moto never progresses a deployment: set the state ECS would have reached.
    get_backend("ecs")[ACCOUNT]["us-east-1"].services["shop:api"].deployments[0].update(changes)


def test_deploy_wait_exits_zero_when_the_deployment_completed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    shop(world, monkeypatch, running=2)
    world.push("shop/api", "v1", "one")

    code, out, err = run("deploy", "--cluster", "shop", "--service", "api", "--image", "shop/api:v1", "--wait")

    assert code == 0, err
    assert "deployed" in out
    assert "shop/api: COMPLETED running 2/2 pending 0 (0s)" in err
    assert err.rstrip().endswith("COMPLETED")


def test_deploy_wait_fails_with_ecs_reason_and_can_roll_back(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    original = shop(world, monkeypatch)
    world.push("shop/api", "v1", "one")
    moto_deployment(rolloutState="FAILED", rolloutStateReason=BREAKER_REASON)

    code, _, err = run(
        "deploy", "--cluster", "shop", "--service", "api", "--image", "shop/api:v1", "--wait", "--rollback"
    )

    assert code == 1
    assert "Error: deployment ecs-svc/" in err
    assert f"of shop/api FAILED: {BREAKER_REASON}" in err
    assert "rolled back to shop-api:1" in err
    assert world.running("shop", "api")["taskDefinitionArn"] == original


def test_deploy_wait_times_out_with_a_non_zero_exit_and_json(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    shop(world, monkeypatch)
    world.push("shop/api", "v1", "one")

    code, out, err = run(
        "deploy",
        "--cluster",
        "shop",
        "--service",
        "api",
        "--image",
        "shop/api:v1",
        "--wait",
        "--timeout",
        "0",
        "--json",
    )

    assert code == 1
    assert "TIMEOUT" in err
    assert "IN_PROGRESS running 0/2 pending 2" in err
    data = json.loads(out)
    assert data["rollout"]["state"] == "TIMEOUT"
    assert data["outcomes"][0]["status"] == "deployed"


def test_rollback_needs_the_wait(world: World) -> None:
    code, _, err = run(
        "deploy", "--cluster", "shop", "--service", "api", "--image", "shop/api:v1", "--rollback", "--no-wait"
    )
    assert code == 2
    assert "--rollback needs the wait" in err


def test_status_table_and_json(world: World, monkeypatch: pytest.MonkeyPatch, rules: Path) -> None:
    monkeypatch.setenv("COLUMNS", "160")  # wide enough for every value in full
    shop(world, monkeypatch, running=2)
    zero = world.push("shop/api", "v0", "zero")
    digest = world.push("shop/api", "v1", "one")
    _set_pushed_at("shop/api", zero, datetime.now(UTC) - timedelta(hours=1))

    code, out, _ = run("status", "--config", str(rules))

    assert code == 0
    header, _, row = out.splitlines()[:3]
    assert header.split() == [
        "SERVICE", "REPOSITORY", "RUNNING", "NEWEST", "ALLOWED", "DRIFT", "GATE", "LAST", "DEPLOYMENT"
    ]  # fmt: skip
    assert row.split()[:3] == ["us-east-1/shop/api", "shop/api", "v0"]
    assert f"v1 {digest[:19]}" in row
    assert " yes " in row
    assert "COMPLETED" in row
    code, out, _ = run("status", "--config", str(rules), "--json")
    (service,) = json.loads(out)["services"]
    assert (service["drift"], service["newest_digest"], service["running_tag"]) == ("yes", digest, "v0")
    assert service["gate"] is None  # no pause, no gate on its rule


def test_reconcile_dry_run_then_fix(world: World, monkeypatch: pytest.MonkeyPatch, rules: Path) -> None:
    shop(world, monkeypatch)
    digest = world.push("shop/api", "v1", "one")

    code, out, _ = run("reconcile", "--config", str(rules), "--dry-run", "--json")
    assert code == 0
    assert [(o["status"], o["digest"]) for o in json.loads(out)["outcomes"]] == [("drift", digest)]

    code, out, err = run("reconcile", "--config", str(rules), "--no-ledger")
    assert code == 0
    assert out.splitlines()[2].startswith("deployed")
    assert err.count(LEDGER_OFF_NOTE) == 1  # once, as a note: never again as a raw JSON log line
    assert world.images_of("shop", "api")["app"].endswith(f"@{digest}")


def test_replay_of_a_deployment_event_that_is_not_ours(
    world: World, monkeypatch: pytest.MonkeyPatch, rules: Path, tmp_path: Path
) -> None:
    shop(world, monkeypatch, running=2)
    event = tmp_path / "deployment.json"
    event.write_text(json.dumps(deployment_event("ecs-svc/123", "COMPLETED")))

    code, out, _ = run("replay", str(event), "--config", str(rules), "--json")

    assert code == 0
    (outcome,) = json.loads(out)["outcomes"]
    assert outcome["status"] == "ignored"
    assert "not started by ecr-autodeploy" in outcome["reason"]
