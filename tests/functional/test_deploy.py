"""The deploy use case against moto: pinning, fan-out, failures, duplicates, ordering, strategies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.backends import get_backend

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import DeployError, NotFoundError
from ecr_autodeploy.core.planning import DIGEST_TAG
from ecr_autodeploy.engine.deploy import Deployer
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import build_deployer
from tests.functional.world import ACCOUNT, World


def deployer(rules: list[dict[str, Any]]) -> Deployer:
    return build_deployer(parse_config({"rules": rules}, "test-rules"), Clients(region="us-east-1"))


def shop(world: World, services: tuple[str, ...] = ("api",)) -> None:
    world.repository("shop/api")
    world.repository("shop/sidecar")
    world.cluster("shop")
    for name in services:
        world.service(
            "shop",
            name,
            {"app": world.image_uri("shop/api", ":v0"), "envoy": world.image_uri("shop/sidecar", ":1.0")},
        )


def statuses(result: Any) -> list[str]:
    return [o.status for o in result.outcomes]


def test_pin_replaces_only_the_image_and_keeps_every_other_field(world: World) -> None:
    shop(world)
    before = world.running("shop", "api")
    digest = world.push("shop/api", "v1", "one")
    d = deployer([{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}])

    result = d.handle(events.replicate("shop/api", digest, "v1"))

    assert statuses(result) == ["deployed"]
    after = world.running("shop", "api")
    assert after["revision"] == before["revision"] + 1
    assert result.outcomes[0].task_definition == after["taskDefinitionArn"]
    app = {c["name"]: c for c in after["containerDefinitions"]}
    assert app["app"]["image"] == world.image_uri("shop/api", f"@{digest}")
    assert app["envoy"]["image"] == world.image_uri("shop/sidecar", ":1.0")
    for key in ("taskRoleArn", "executionRoleArn", "networkMode", "cpu", "memory", "volumes", "family"):
        assert after.get(key) == before.get(key), key
    old = {c["name"]: c for c in before["containerDefinitions"]}
    for name in ("app", "envoy"):
        for key in ("environment", "secrets", "portMappings", "memory", "cpu"):
            assert app[name][key] == old[name][key], (name, key)
    tags = {t["key"]: t["value"] for t in after["_tags"]}
    assert tags["team"] == "shop"
    assert tags[DIGEST_TAG] == digest


def test_duplicate_event_is_unchanged_and_registers_nothing(world: World) -> None:
    shop(world)
    digest = world.push("shop/api", "v1", "one")
    d = deployer([{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}])
    event = events.replicate("shop/api", digest, "v1")

    assert statuses(d.handle(event)) == ["deployed"]
    revisions = world.revisions("shop-api")
    again = d.handle(event)

    assert statuses(again) == ["unchanged"]
    assert world.revisions("shop-api") == revisions


def test_fan_out_to_many_services_and_named_containers(world: World) -> None:
    shop(world, ("api", "worker", "cron"))
    digest = world.push("shop/api", "v2", "two")
    rules = [
        {
            "repository": "shop/*",
            "tags": ["*"],
            "targets": [
                {"cluster": "shop", "service": "api"},
                {"cluster": "shop", "service": "worker"},
                {"cluster": "shop", "service": "cron", "containers": ["app"]},
            ],
        }
    ]
    result = deployer(rules).handle(events.replicate("shop/api", digest, "v2"))

    assert sorted(o.service or "" for o in result.outcomes if o.status == "deployed") == ["api", "cron", "worker"]
    for name in ("api", "worker", "cron"):
        assert world.images_of("shop", name)["app"].endswith(f"shop/api@{digest}")


def test_one_failing_target_does_not_stop_the_others_and_the_retry_is_a_no_op(world: World) -> None:
    shop(world, ("api", "worker"))
    digest = world.push("shop/api", "v3", "three")
    rules = [
        {
            "repository": "shop/api",
            "tags": ["*"],
            "targets": [
                {"cluster": "shop", "service": "api"},
                {"cluster": "shop", "service": "ghost"},
                {"cluster": "missing-cluster", "service": "api"},
                {"cluster": "shop", "service": "worker"},
            ],
        }
    ]
    d = deployer(rules)
    event = events.replicate("shop/api", digest, "v3")

    with pytest.raises(DeployError) as failed:
        d.handle(event)

    by_target = {o["target"]: o for o in failed.value.outcomes}
    assert by_target["us-east-1/shop/api"]["status"] == "deployed"
    assert by_target["us-east-1/shop/worker"]["status"] == "deployed"
    assert by_target["us-east-1/shop/ghost"]["error_code"] == "ServiceNotFoundException"
    assert by_target["us-east-1/missing-cluster/api"]["error_code"] == "ClusterNotFoundException"
    assert "2 of 4 targets failed" in str(failed.value)

    with pytest.raises(DeployError) as retried:
        d.handle(event)
    again = {o["target"]: o["status"] for o in retried.value.outcomes}
    assert again["us-east-1/shop/api"] == "unchanged"
    assert again["us-east-1/shop/worker"] == "unchanged"


def _set_pushed_at(repository: str, digest: str, when: datetime) -> None:
    # moto stamps pushes to the second; tests set the push time the way ECR would have recorded it.
    repo = get_backend("ecr")[ACCOUNT]["us-east-1"].repositories[repository]
    for image in repo.images:
        if image.get_image_digest() == digest:
            image.image_pushed_at = int(when.timestamp())


def test_an_older_image_arriving_late_never_replaces_a_newer_one(world: World) -> None:
    shop(world)
    old = world.push("shop/api", "v1", "old")
    new = world.push("shop/api", "v2", "new")
    now = datetime.now(UTC)
    _set_pushed_at("shop/api", old, now - timedelta(hours=1))
    _set_pushed_at("shop/api", new, now)
    d = deployer([{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}])

    assert statuses(d.handle(events.replicate("shop/api", new, "v2"))) == ["deployed"]
    late = d.handle(events.replicate("shop/api", old, "v1"))

    assert statuses(late) == ["skipped"]
    assert "newer than" in late.outcomes[0].reason
    assert world.images_of("shop", "api")["app"].endswith(new)

    allowing = deployer(
        [
            {
                "repository": "shop/api",
                "tags": ["*"],
                "allow_downgrade": True,
                "targets": [{"cluster": "shop", "service": "api"}],
            }
        ]
    )
    assert statuses(allowing.handle(events.replicate("shop/api", old, "v1"))) == ["deployed"]


def test_a_digest_missing_from_the_repository_is_an_error_not_a_deployment(world: World) -> None:
    shop(world)
    d = deployer([{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}])
    revisions = world.revisions("shop-api")

    with pytest.raises(NotFoundError) as err:
        d.handle(events.replicate("shop/api", "sha256:" + "f" * 64, "v9"))

    assert err.value.code == "ImageNotFoundException"
    assert world.revisions("shop-api") == revisions


def test_force_strategy_starts_a_new_deployment_without_a_new_revision(world: World) -> None:
    shop(world)
    digest = world.push("shop/api", "v0", "forced")  # force re-pulls the tag the service names: v0
    d = deployer(
        [
            {
                "repository": "shop/api",
                "tags": ["*"],
                "strategy": "force",
                "targets": [{"cluster": "shop", "service": "api"}],
            }
        ]
    )
    revisions = world.revisions("shop-api")

    result = d.handle(events.push("shop/api", digest, "v0"))

    assert statuses(result) == ["deployed"]
    assert result.outcomes[0].deployment_id
    assert world.revisions("shop-api") == revisions


def test_tag_policy_skips_with_the_reason(world: World) -> None:
    shop(world)
    digest = world.push("shop/api", "1.0-rc1", "rc")
    d = deployer(
        [
            {
                "repository": "shop/api",
                "tags": ["semver:>=1.0"],
                "exclude_tags": ["*-rc*"],
                "targets": [{"cluster": "shop", "service": "api"}],
            }
        ]
    )
    result = d.handle(events.replicate("shop/api", digest, "1.0-rc1"))

    assert statuses(result) == ["skipped"]
    assert "1.0-rc1" in result.outcomes[0].reason


def test_multi_arch_index_is_deployed_and_a_platform_manifest_is_not(world: World) -> None:
    shop(world)
    index_digest, children = world.push_index("shop/api", "v4", "multi")
    d = deployer([{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}])

    child = d.handle(events.push("shop/api", children[0]))
    assert statuses(child) == ["skipped"]
    deployed = d.handle(events.push("shop/api", index_digest, "v4"))
    assert statuses(deployed) == ["deployed"]
    assert world.images_of("shop", "api")["app"].endswith(f"@{index_digest}")


def test_cloudtrail_route_resolves_the_newest_allowed_image(world: World) -> None:
    shop(world)
    pushed = [world.push("shop/api", tag, tag) for tag in ("v1", "v2", "nightly")]
    now = datetime.now(UTC)
    for minutes, digest in enumerate(pushed):
        _set_pushed_at("shop/api", digest, now + timedelta(minutes=minutes))
    newest = pushed[1]  # "nightly" is newer but not allowed by the rule
    d = deployer([{"repository": "shop/api", "tags": ["v*"], "targets": [{"cluster": "shop", "service": "api"}]}])

    result = d.handle(events.cloudtrail_replicate("shop/api"))

    assert statuses(result) == ["deployed"]
    assert result.outcomes[0].digest == newest
    assert world.images_of("shop", "api")["app"].endswith(f"@{newest}")


def test_cross_region_target(world: World) -> None:
    shop(world)
    world.cluster("shop", region="eu-west-1")
    world.repository("shop/api", region="eu-west-1")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0", region="eu-west-1")}, region="eu-west-1")
    digest = world.push("shop/api", "v5", "five")
    rules = [
        {
            "repository": "shop/api",
            "tags": ["*"],
            "targets": [
                {"cluster": "shop", "service": "api"},
                {"cluster": "shop", "service": "api", "region": "eu-west-1"},
            ],
        }
    ]
    result = deployer(rules).handle(events.replicate("shop/api", digest, "v5"))

    assert sorted(o.target or "" for o in result.outcomes if o.status == "deployed") == [
        "eu-west-1/shop/api",
        "us-east-1/shop/api",
    ]
    # The eu-west-1 service keeps pulling from its own regional registry, pinned to the same digest.
    assert world.images_of("shop", "api", region="eu-west-1")["app"] == world.image_uri(
        "shop/api", f"@{digest}", region="eu-west-1"
    )


def test_seed_regex_mode_maps_like_the_classic_lambda(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    monkeypatch.setenv("ECR_SERVICE_REGEX", r"repository/[^/]+/([^/]+)$")
    monkeypatch.setenv("ECR_CLUSTER_REGEX", r"repository/([^/]+)/")
    from ecr_autodeploy.wiring import load_config

    d = build_deployer(load_config(), Clients(region="us-east-1"))
    digest = world.push("shop/api", "v0", "six")  # the tag the service names: seed mode follows it

    result = d.handle(events.replicate("shop/api", digest, "v0"))

    assert [(o.status, o.target) for o in result.outcomes] == [("deployed", "us-east-1/shop/api")]
    world.repository("other")
    unmapped = d.handle(events.replicate("other", world.push("other", "v1", "x"), "v1"))
    assert statuses(unmapped) == ["skipped"]


def test_cross_account_target_through_an_assumed_role(world: World) -> None:
    other = "111122223333"
    role_arn = f"arn:aws:iam::{other}:role/deployer"
    # Build the other account's service with credentials of the same role (moto keys accounts by credentials).
    sts = boto3.client("sts", region_name="us-east-1")
    creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="setup")["Credentials"]
    ecs_other = boto3.client(
        "ecs",
        region_name="us-east-1",
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
    )
    ecs_other.create_cluster(clusterName="prod")
    image = world.image_uri("shop/api", ":v0")
    arn = ecs_other.register_task_definition(
        family="prod-api", containerDefinitions=[{"name": "app", "image": image, "memory": 256}]
    )["taskDefinition"]["taskDefinitionArn"]
    ecs_other.create_service(cluster="prod", serviceName="api", taskDefinition=arn, desiredCount=1)
    world.repository("shop/api")
    digest = world.push("shop/api", "v7", "seven")
    rules = [
        {
            "repository": "shop/api",
            "tags": ["*"],
            "targets": [{"cluster": "prod", "service": "api", "role_arn": role_arn}],
        }
    ]

    result = deployer(rules).handle(events.replicate("shop/api", digest, "v7"))

    assert statuses(result) == ["deployed"]
    assert f":{other}:task-definition/prod-api:2" in (result.outcomes[0].task_definition or "")
    svc = ecs_other.describe_services(cluster="prod", services=["api"])["services"][0]
    td = ecs_other.describe_task_definition(taskDefinition=svc["taskDefinition"])["taskDefinition"]
    assert td["containerDefinitions"][0]["image"] == world.image_uri("shop/api", f"@{digest}")
    # Nothing was created in the function's own account.
    assert world.ecs().list_clusters()["clusterArns"] == []
