"""A service follows the tag its image named; ECR's tags decide, not the event's (the decision issue, items 1 and 4)."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.events import Ignored, parse_event
from ecr_autodeploy.core.following import FOLLOWS_TAG
from ecr_autodeploy.engine.deploy import Deployer
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import build_deployer
from tests.functional.world import World

FOLLOWING = [{"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]}]


def deployer(rules: list[dict[str, Any]] = FOLLOWING) -> Deployer:
    return build_deployer(parse_config({"rules": rules}, "rules.yaml"), Clients(region="us-east-1"), env={})


@pytest.fixture
def stable(world: World) -> World:
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":stable")})
    return world


def outcome_of(d: Deployer, event: dict[str, Any]) -> Any:
    (outcome,) = d.handle(event).outcomes
    return outcome


def test_a_pr_image_never_deploys_to_a_service_that_follows_stable(stable: World) -> None:
    d = deployer()
    pr = stable.push("shop/api", "pr-123-experimental", "pr")

    skipped = outcome_of(d, events.replicate("shop/api", pr, "pr-123-experimental"))

    assert skipped.status == "skipped"
    assert "follows tag 'stable'" in skipped.reason
    assert "tags:" in skipped.reason  # says how to deploy other tags
    assert stable.images_of("shop", "api")["app"].endswith(":stable")


def test_the_followed_tag_deploys_and_the_pinned_revision_remembers_it(stable: World) -> None:
    d = deployer()
    first = stable.push("shop/api", "stable", "one")
    assert outcome_of(d, events.replicate("shop/api", first, "stable")).status == "deployed"
    running = stable.running("shop", "api")
    assert running["containerDefinitions"][0]["image"].endswith(f"@{first}")
    assert {t["key"]: t["value"] for t in running["_tags"]}[FOLLOWS_TAG] == "app=stable"

    # Pinned by digest now, it still follows stable: another PR image is refused, the next stable deploys.
    pr = stable.push("shop/api", "pr-124", "pr")
    assert outcome_of(d, events.replicate("shop/api", pr, "pr-124")).status == "skipped"
    second = stable.push("shop/api", "stable", "two")
    deployed = outcome_of(d, events.replicate("shop/api", second, "stable"))
    assert (deployed.status, deployed.tag) == ("deployed", "stable")
    assert stable.images_of("shop", "api")["app"].endswith(f"@{second}")


def test_a_tags_policy_replaces_following(stable: World) -> None:
    d = deployer([{**FOLLOWING[0], "tags": ["pr-*"]}])
    pr = stable.push("shop/api", "pr-125", "pr")
    assert outcome_of(d, events.replicate("shop/api", pr, "pr-125")).status == "deployed"


def test_seed_mode_follows_the_tag_too(stable: World, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECR_SERVICE_REGEX", r"repository/[^/]+/([^/]+)$")
    monkeypatch.setenv("ECR_CLUSTER_REGEX", r"repository/([^/]+)/")
    from ecr_autodeploy.wiring import load_config

    d = build_deployer(load_config(), Clients(region="us-east-1"), env={})
    pr = stable.push("shop/api", "pr-1", "pr")
    assert outcome_of(d, events.replicate("shop/api", pr, "pr-1")).status == "skipped"
    release = stable.push("shop/api", "stable", "release")
    assert outcome_of(d, events.replicate("shop/api", release, "stable")).status == "deployed"


def test_the_tag_policy_is_judged_on_ecr_s_tags_not_the_event_s(stable: World) -> None:
    d = deployer([{**FOLLOWING[0], "tags": ["v*"]}])
    dev = stable.push("shop/api", "dev-123", "dev")

    claimed = outcome_of(d, events.replicate("shop/api", dev, "v9.9.9"))  # the event lies about the tag

    assert claimed.status == "skipped"
    assert "the event named tag 'v9.9.9' but ECR tags" in claimed.reason
    assert stable.images_of("shop", "api")["app"].endswith(":stable")


def test_an_event_without_a_tag_is_judged_on_the_digest_s_tags(stable: World) -> None:
    d = deployer([{**FOLLOWING[0], "tags": ["v*"]}])
    release = stable.push("shop/api", "v2", "release")
    assert outcome_of(d, events.replicate("shop/api", release, None)).status == "deployed"


@pytest.mark.parametrize(
    ("arn", "why"),
    [
        ("arn:awsfoo:ecr:us-east-1:123456789012:repository/shop/api", "partition 'awsfoo'"),
        ("arn:aws-cn:ecr:us-east-1:123456789012:repository/shop/api", "partition 'aws-cn'"),
    ],
)
def test_a_repository_arn_of_another_partition_is_refused(arn: str, why: str) -> None:
    event = events.cloudtrail_replicate("shop/api")
    event["detail"]["resources"][0]["ARN"] = arn
    with pytest.raises(Exception, match=why):
        parse_event(event)


def test_a_repository_of_another_account_or_region_than_the_event_s_is_refused() -> None:
    event = {**events.cloudtrail_replicate("shop/api"), "account": "123456789012"}
    event["detail"]["resources"][0]["ARN"] = "arn:aws:ecr:us-east-1:999999999999:repository/shop/api"
    refused = parse_event(event)
    assert isinstance(refused, Ignored)
    assert "is in account 999999999999, the event was delivered in 123456789012" in refused.reason
    other_region = events.cloudtrail_replicate("shop/api", region="us-east-1")
    other_region["detail"]["resources"][0]["ARN"] = "arn:aws:ecr:eu-west-1:123456789012:repository/shop/api"
    refused = parse_event(other_region)
    assert isinstance(refused, Ignored)
    assert "is in region eu-west-1, the event was delivered in us-east-1" in refused.reason


def test_ecr_tags_of_up_to_300_characters_are_accepted(stable: World) -> None:
    tag = "t" * 300
    event = events.replicate("shop/api", stable.push("shop/api", "stable", "x"), tag)
    assert parse_event(event).tag == tag  # type: ignore[union-attr]
