"""The CLI and the function agree: the CLI finds the installation's ledger by itself and uses it.

Without it, a reconcile from a laptop redeployed the digest the circuit breaker had just rolled back, status showed
ECS's COMPLETED (of the rollback) instead of the FAILED the function recorded, and dry runs judged differently.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3

from ecr_autodeploy.cli.context import NO_LEDGER_WARNING
from ecr_autodeploy.engine.deploy import LEDGER_OFF_NOTE
from tests.functional.cli_runs import run
from tests.functional.world import World


def shop(world: World) -> str:
    world.repository("shop/api")
    world.cluster("shop")
    return world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})


def test_without_an_installation_the_cli_says_what_to_do(world: World, rules: Path) -> None:
    shop(world)
    code, _, err = run("reconcile", "--config", str(rules))
    assert code == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("Error: ")
    assert "ecr-autodeploy-ledger" in line
    for remedy in ("ecr-autodeploy install", "--name", "--no-ledger"):
        assert remedy in line


def test_no_ledger_is_explicit_and_warned_about_before_anything_is_deployed(world: World, rules: Path) -> None:
    shop(world)
    world.push("shop/api", "v1", "one")
    code, out, err = run("reconcile", "--config", str(rules), "--no-ledger")
    assert code == 0, err
    assert err.index(NO_LEDGER_WARNING) < err.index(LEDGER_OFF_NOTE)
    assert "deployed" in out


def test_the_installation_is_found_by_name(world: World, rules: Path) -> None:
    shop(world)
    world.ledger("blue")
    code, _, err = run("status", "--config", str(rules))
    assert code == 1
    assert "installation 'ecr-autodeploy'" in err
    code, _, err = run("status", "--config", str(rules), "--name", "blue")
    assert code == 0, err


def test_reconcile_does_not_redeploy_what_the_function_deployed_and_ecs_rolled_back(world: World, rules: Path) -> None:
    """The function deployed v1; the circuit breaker rolled it back; a reconcile by hand must not deploy v1 again."""
    original = shop(world)
    table = world.ledger()
    digest = world.push("shop/api", "v1", "one")
    # The function's deploy: through the same engine, with the installation's ledger.
    code, out, err = run("deploy", "--cluster", "shop", "--service", "api", "--image", "shop/api:v1", "--no-wait")
    assert code == 0, err
    # ECS's circuit breaker rolls it back: the service runs the original revision again.
    boto3.client("ecs", "us-east-1").update_service(cluster="shop", service="api", taskDefinition=original)
    revisions = world.revisions("shop-api")

    code, out, err = run("reconcile", "--config", str(rules), "--json")

    assert code == 0, err
    outcomes = json.loads(out)["outcomes"]
    assert [(o["status"], o["digest"]) for o in outcomes if not o.get("rollout_state")] == [("duplicate", digest)]
    assert world.revisions("shop-api") == revisions
    assert world.running("shop", "api")["taskDefinitionArn"] == original
    assert table in boto3.client("dynamodb", "us-east-1").list_tables()["TableNames"]


def test_status_shows_the_outcome_the_function_recorded(world: World, rules: Path) -> None:
    shop(world)
    table = world.ledger()
    world.push("shop/api", "v1", "one")
    code, out, _ = run(
        "deploy", "--cluster", "shop", "--service", "api", "--image", "shop/api:v1", "--no-wait", "--json"
    )
    deployment = json.loads(out)["outcomes"][0]["deployment_id"]
    # What the function records when ECS reports the rollout FAILED (its circuit breaker rolled it back).
    dynamodb = boto3.client("dynamodb", "us-east-1")
    for pk in (f"dep#{deployment}", "svc#us-east-1/shop/api"):
        dynamodb.update_item(
            TableName=table,
            Key={"pk": {"S": pk}},
            UpdateExpression="SET #s = :f",
            ExpressionAttributeNames={"#s": "state"},
            ExpressionAttributeValues={":f": {"S": "FAILED"}},
        )

    code, out, err = run("status", "--config", str(rules), "--json")

    assert code == 0, err
    (service,) = json.loads(out)["services"]
    assert service["last_deployment_state"] == "FAILED"
    assert service["last_deployment_id"] == deployment


def test_reconcile_dry_run_says_duplicate_where_the_real_run_does(world: World, rules: Path) -> None:
    original = shop(world)
    world.ledger()
    world.push("shop/api", "v1", "one")
    run("deploy", "--cluster", "shop", "--service", "api", "--image", "shop/api:v1", "--no-wait")
    boto3.client("ecs", "us-east-1").update_service(cluster="shop", service="api", taskDefinition=original)

    _, dry, _ = run("reconcile", "--config", str(rules), "--dry-run", "--json")
    _, real, _ = run("reconcile", "--config", str(rules), "--json")

    # The sweep also reports the manual deploy's rollout, still in progress on the emulator (not in a dry run).
    assert [o["status"] for o in json.loads(real)["outcomes"] if "rule" in o] == ["duplicate"]
    assert [o["status"] for o in json.loads(dry)["outcomes"]] == ["duplicate"]
