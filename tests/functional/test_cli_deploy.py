"""deploy, plan and diff say what happened exactly: the digest, a skip as a failure, the task-definition change."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner

from ecr_autodeploy.cli.main import cli
from tests.functional.cli_runs import SHOP_RULES
from tests.functional.test_deploy import _set_pushed_at
from tests.functional.world import ACCOUNT, World

DEPLOY = ("deploy", "--cluster", "shop", "--service", "api")


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [*args])
    return result.exit_code, result.stdout, result.stderr


def shop(world: World) -> str:
    world.ledger()
    world.repository("shop/api")
    world.cluster("shop")
    return world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})


def test_deploy_and_plan_json_carry_the_digest_at_the_top(world: World, tmp_path: Path) -> None:
    shop(world)
    digest = world.push("shop/api", "v1", "one")
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(SHOP_RULES))

    code, out, err = run("plan", "--repository", "shop/api", "--tag", "v1", "--config", str(rules), "--json")
    assert code == 0, err
    planned = json.loads(out)
    assert (planned["schema_version"], planned["digest"]) == (1, digest)

    code, out, err = run(*DEPLOY, "--image", "shop/api:v1", "--no-wait", "--output", "json")
    assert code == 0, err
    assert json.loads(out)["digest"] == digest


def test_a_deploy_the_engine_skips_exits_non_zero_with_the_reason(world: World) -> None:
    shop(world)
    old = world.push("shop/api", "v1", "one")
    world.push("shop/api", "v2", "two")
    _set_pushed_at("shop/api", old, datetime.now(UTC) - timedelta(hours=1))
    assert run(*DEPLOY, "--image", "shop/api:v2", "--no-wait")[0] == 0

    code, out, err = run(*DEPLOY, "--image", "shop/api:v1", "--no-wait")

    assert code == 1
    assert "skipped" in out
    assert err.startswith("Error: not deployed to us-east-1/shop/api: ")
    assert "--allow-downgrade" in err
    assert run(*DEPLOY, "--image", "shop/api:v1", "--no-wait", "--allow-skip")[0] == 0
    code, out, _ = run(*DEPLOY, "--image", "shop/api:v1", "--no-wait", "--allow-downgrade", "--json")
    assert (code, json.loads(out)["outcomes"][0]["status"]) == (0, "deployed")
    assert world.images_of("shop", "api")["app"].endswith(old)


def test_diff_shows_the_change_field_by_field_and_changes_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # room for an image URI on one line
    shop(world)
    digest = world.push("shop/api", "v1", "one")
    before = world.revisions("shop-api")

    code, out, err = run("diff", "--cluster", "shop", "--service", "api", "--image", "shop/api:v1")

    assert code == 0, err
    assert "us-east-1/shop/api: shop-api:1 -> a new revision" in out
    assert "containerDefinitions[app].image:" in out
    assert f"- {world.image_uri('shop/api', ':v0')}" in out
    assert f"+ {world.image_uri('shop/api', '@' + digest)}" in out
    assert "tags[ecr-autodeploy:digest]:" in out
    assert world.revisions("shop-api") == before
    code, out, _ = run("diff", "--cluster", "shop", "--service", "api", "--image", "shop/api:v1", "--json")
    (changes,) = [d["changes"] for d in json.loads(out)["diff"]]
    assert changes[0] == {
        "path": "containerDefinitions[app].image",
        "kind": "changed",
        "before": world.image_uri("shop/api", ":v0"),
        "after": world.image_uri("shop/api", "@" + digest),
    }


def test_every_dry_run_of_a_deploy_shows_the_diff(world: World) -> None:
    shop(world)
    world.push("shop/api", "v1", "one")
    code, out, _ = run(*DEPLOY, "--image", "shop/api:v1", "--dry-run")
    assert code == 0
    assert "planned" in out
    assert "containerDefinitions[app].image:" in out


def test_global_options_work_after_the_verb(world: World) -> None:
    shop(world)
    world.push("shop/api", "v1", "one")
    code, out, err = run(*DEPLOY, "--image", "shop/api:v1", "--dry-run", "--region", "us-east-1", "--json")
    assert code == 0, err
    assert json.loads(out)["outcomes"][0]["region"] == "us-east-1"
    code, _, err = run(*DEPLOY, "--image", "shop/api:v1", "--dry-run", "--region", "eu-west-1")
    assert code == 1  # the later --region wins: there is no such cluster in eu-west-1
    assert "eu-west-1" in err


def test_assume_role_reaches_a_service_in_another_account(world: World) -> None:
    """The person's credentials assume the deploy account's role, as a rule's role_arn does for the function."""
    world.ledger()
    world.repository("shop/api")
    digest = world.push("shop/api", "v1", "one")
    role = "arn:aws:iam::111122223333:role/deployer"
    creds = boto3.client("sts", "us-east-1").assume_role(RoleArn=role, RoleSessionName="test")["Credentials"]
    other = boto3.session.Session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name="us-east-1",
    ).client("ecs")
    other.create_cluster(clusterName="shop")
    arn = other.register_task_definition(
        family="shop-api",
        containerDefinitions=[{"name": "app", "image": world.image_uri("shop/api", ":v0"), "memory": 256}],
    )["taskDefinition"]["taskDefinitionArn"]
    other.create_service(cluster="shop", serviceName="api", taskDefinition=arn, desiredCount=1)

    code, out, err = run(
        *DEPLOY, "--image", f"{world.image_uri('shop/api')[:-7]}:v1", "--no-wait", "--assume-role-arn", role, "--json"
    )

    assert code == 0, err
    (outcome,) = json.loads(out)["outcomes"]
    assert outcome["status"] == "deployed"
    running = other.describe_services(cluster="shop", services=["api"])["services"][0]["taskDefinition"]
    assert running.endswith("shop-api:2")
    assert ":111122223333:" in running
    assert ACCOUNT not in running
    assert outcome["digest"] == digest
