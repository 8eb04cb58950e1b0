"""The operator's verbs on moto: history, rollback, watch, dlq, and uninstall with dead letters left."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from moto.backends import get_backend

from ecr_autodeploy.local import events
from tests.functional.cli_runs import SHOP_RULES, run
from tests.functional.rollouts import BREAKER_REASON
from tests.functional.world import ACCOUNT, World

SERVICE = ("--cluster", "shop", "--service", "api")


def shop(world: World, monkeypatch: pytest.MonkeyPatch, running: int = 0) -> str:
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(running))  # moto: COMPLETED once running covers desired
    world.ledger()
    world.repository("shop/api")
    world.cluster("shop")
    return world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})


def deploy(tag: str) -> str:
    code, out, err = run("deploy", *SERVICE, "--image", f"shop/api:{tag}", "--no-wait", "--json")
    assert code == 0, err
    return str(json.loads(out)["outcomes"][0]["deployment_id"])


def test_history_lists_the_deployments_with_their_trigger(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    shop(world, monkeypatch)
    one = world.push("shop/api", "v1", "one")
    two = world.push("shop/api", "v2", "two")
    deploy("v1")
    # moto keeps the deployment id on a pinned UpdateService; ECS starts a new deployment with a new id.
    get_backend("ecs")[ACCOUNT]["us-east-1"].services["shop:api"].deployments[0]["id"] = "ecs-svc/2"
    deploy("v2")

    code, out, err = run("history", *SERVICE, "--json")

    assert code == 0, err
    data = json.loads(out)
    assert data["service"] == "us-east-1/shop/api"
    assert [(d["digest"], d["tag"]) for d in data["deployments"]] == [(two, "v2"), (one, "v1")]
    assert data["deployments"][0]["state"] == "STARTED"
    assert data["deployments"][1]["state"] == "SUPERSEDED"
    assert all(d["trigger"].startswith("manual deploy by arn:aws:") for d in data["deployments"])
    code, out, _ = run("history", *SERVICE)
    assert out.splitlines()[0].split() == ["STARTED", "OUTCOME", "DIGEST", "TAG", "REVISION", "TRIGGER"]
    assert "SUPERSEDED" in out


def test_rollback_goes_back_to_the_revision_the_ledger_recorded(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    original = shop(world, monkeypatch)
    world.push("shop/api", "v1", "one")
    deploy("v1")
    pinned = world.running("shop", "api")["taskDefinitionArn"]

    code, out, err = run("rollback", *SERVICE, "--dry-run")
    assert code == 0, err
    assert "would roll back from shop-api:2 to shop-api:1" in out
    assert "containerDefinitions[app].image:" in out
    assert world.running("shop", "api")["taskDefinitionArn"] == pinned

    code, out, err = run("rollback", *SERVICE, "--no-wait", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["rolled_back"], data["to"]) == (True, original)
    assert world.running("shop", "api")["taskDefinitionArn"] == original
    history = json.loads(run("history", *SERVICE, "--json")[1])["deployments"]
    assert history[0]["trigger"].startswith("rollback of ")
    # The rollback is recorded: a second one is refused rather than going back and forth.
    code, _, err = run("rollback", *SERVICE, "--no-wait")
    assert code == 1
    assert "is a rollback of" in err


def test_a_person_rolls_back_a_completed_deployment_even_where_the_circuit_breaker_rolls_back_failures(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = shop(world, monkeypatch, running=2)
    boto3.client("ecs", "us-east-1").update_service(
        cluster="shop",
        service="api",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    world.push("shop/api", "v1", "one")
    deploy("v1")

    code, out, err = run("rollback", *SERVICE, "--no-wait", "--json")

    assert code == 0, err
    assert json.loads(out)["rolled_back"] is True
    assert world.running("shop", "api")["taskDefinitionArn"] == original


def test_watch_follows_the_open_deployments_and_exits_by_outcome(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    shop(world, monkeypatch, running=2)
    world.push("shop/api", "v1", "one")
    deployment = deploy("v1")

    code, out, err = run("watch", "--interval", "0", "--json")

    assert code == 0, err
    (watched,) = json.loads(out)["deployments"]
    assert (watched["deployment_id"], watched["state"], watched["running"]) == (deployment, "COMPLETED", 2)
    assert f"us-east-1/shop/api  {deployment}  COMPLETED  2/2 running, 0 pending" in err


def test_watch_exits_1_when_the_deployment_failed(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    shop(world, monkeypatch)
    world.push("shop/api", "v1", "one")
    deploy("v1")
    service = get_backend("ecs")[ACCOUNT]["us-east-1"].services["shop:api"]
    service.deployments[0].update({"rolloutState": "FAILED", "rolloutStateReason": BREAKER_REASON})

    code, out, err = run("watch", *SERVICE, "--interval", "0")

    assert code == 1
    assert "FAILED" in out
    assert err.strip().splitlines()[-1] == "Error: 1 of 1 deployments did not complete: us-east-1/shop/api FAILED"


def test_watch_with_nothing_in_progress(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    shop(world, monkeypatch)
    code, _, err = run("watch")
    assert code == 0
    assert "nothing to watch" in err


def dead_letters(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> tuple[str, str]:
    """Queue one event the function failed on and one EventBridge could not deliver; return the event ids."""
    shop(world, monkeypatch)
    digest = world.push("shop/api", "v1", "one")
    sqs = boto3.client("sqs", "us-east-1")
    failed = events.replicate("shop/api", digest, "v1")
    lost = events.replicate("shop/api", digest, "v1")
    record = {
        "version": "1.0",
        "requestContext": {"requestId": "r", "condition": "RetriesExhausted", "approximateInvokeCount": 3},
        "requestPayload": failed,
        "responsePayload": {"errorType": "DeployError", "errorMessage": "1 of 1 targets failed"},
    }
    url = sqs.create_queue(QueueName="ecr-autodeploy-dlq")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(record))
    url = sqs.create_queue(QueueName="ecr-autodeploy-target-dlq")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(lost),
        MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": "NO_PERMISSIONS"}},
    )
    return str(failed["id"]), str(lost["id"])


def test_dlq_lists_shows_and_redrives(world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    failed, lost = dead_letters(world, monkeypatch, tmp_path)
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(SHOP_RULES))

    code, out, err = run("dlq", "list", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert {k: v["messages"] for k, v in data["queues"].items()} == {"function": 1, "target": 1}
    by_queue = {m["queue"]: m for m in data["messages"]}
    assert by_queue["function"]["event_id"] == failed
    assert by_queue["function"]["error"] == "DeployError: 1 of 1 targets failed"
    assert by_queue["function"]["attempts"] == 3
    assert (by_queue["target"]["event_id"], by_queue["target"]["error"]) == (lost, "NO_PERMISSIONS")

    code, out, _ = run("dlq", "show", by_queue["function"]["message_id"])
    assert code == 0
    assert f'"id": "{failed}"' in out

    code, out, err = run("dlq", "redrive", "--all", "--local", "--config", str(rules), "--dry-run")
    assert code == 0
    assert out.count("would redrive") == 2
    code, out, err = run("dlq", "redrive", "--all", "--local", "--config", str(rules))
    assert code == 0, err
    assert out.count("redriven here") == 2
    assert "@sha256:" in world.images_of("shop", "api")["app"]  # the event was handled: the image deployed
    left = json.loads(run("dlq", "list", "--json")[1])
    assert (left["messages"], {k: v["messages"] for k, v in left["queues"].items()}) == (
        [],
        {"function": 0, "target": 0},
    )


def test_uninstall_refuses_to_delete_dead_letters_unless_told(
    world: World, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dead_letters(world, monkeypatch, tmp_path)

    code, _, err = run("uninstall")

    assert code == 1
    assert "ecr-autodeploy-dlq holds 1 message" in err
    assert "ecr-autodeploy-target-dlq holds 1 message" in err
    assert "--discard-dead-letters" in err
    assert len(boto3.client("sqs", "us-east-1").list_queues()["QueueUrls"]) == 2
    code, _, err = run("uninstall", "--discard-dead-letters")
    assert code == 0, err
    assert not boto3.client("sqs", "us-east-1").list_queues().get("QueueUrls")
