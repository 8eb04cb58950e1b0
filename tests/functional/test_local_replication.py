"""The emulated ECR replication on moto: what the configuration selects, copies, and ECR's events in their shape."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.events import ImageEvent, parse_event
from ecr_autodeploy.local.images import manifest
from ecr_autodeploy.local.replication import Pushed, Replicator, rule_matches
from tests.functional.world import ACCOUNT

SOURCE = "us-west-2"
DEST = "us-east-1"
DETAIL_KEYS = ["result", "repository-name", "image-digest", "source-account", "action-type", "source-region"]


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        ecr = boto3.client("ecr", region_name=SOURCE)
        for name in ("shop/api", "tools/builder"):
            ecr.create_repository(repositoryName=name)
        ecr.put_replication_configuration(
            replicationConfiguration={
                "rules": [
                    {
                        "destinations": [{"region": DEST, "registryId": ACCOUNT}],
                        "repositoryFilters": [{"filter": "shop/", "filterType": "PREFIX_MATCH"}],
                    }
                ]
            }
        )
        yield


def catch(region: str, source: str = "aws.ecr") -> Any:
    """Route every event of `source` in `region` to a new queue; return a function that drains it."""
    sqs = boto3.client("sqs", region_name=region)
    url = sqs.create_queue(QueueName=f"catch-{source.replace('.', '-')}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = boto3.client("events", region_name=region)
    events.put_rule(Name="catch", EventPattern=json.dumps({"source": [source]}))
    events.put_targets(Rule="catch", Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return drain


def push(repository: str, tag: str | None, seed: str) -> str:
    kwargs: dict[str, Any] = {"repositoryName": repository, "imageManifest": manifest(seed)}
    if tag:
        kwargs["imageTag"] = tag
    return str(boto3.client("ecr", region_name=SOURCE).put_image(**kwargs)["image"]["imageId"]["imageDigest"])


def images(region: str, repository: str) -> dict[str, list[str]]:
    found = boto3.client("ecr", region_name=region).describe_images(repositoryName=repository)["imageDetails"]
    return {d["imageDigest"]: d.get("imageTags", []) for d in found}


def test_a_push_is_replicated_and_raises_the_documented_event_in_the_destination(aws: None) -> None:
    in_dest = catch(DEST)
    in_source = catch(SOURCE)
    replicator = Replicator(Clients(region=DEST), [SOURCE]).start()
    try:
        digest = push("shop/api", "1.2.3", "one")
        assert replicator.wait_idle(10)
    finally:
        replicator.stop()

    assert images(DEST, "shop/api") == {digest: ["1.2.3"]}  # repository created by replication, same digest
    (event,) = in_dest()
    assert list(event) == ["id", "time", "version", "detail-type", "source", "region", "resources", "detail"]
    assert (event["source"], event["detail-type"], event["region"]) == ("aws.ecr", "ECR Replication Action", DEST)
    assert event["resources"] == [f"arn:aws:ecr:{DEST}:{ACCOUNT}:repository/shop/api"]
    assert list(event["detail"]) == [*DETAIL_KEYS, "image-tag"]
    assert event["detail"] == {
        "result": "SUCCESS",
        "repository-name": "shop/api",
        "image-digest": digest,
        "source-account": ACCOUNT,
        "action-type": "REPLICATE",
        "source-region": SOURCE,
        "image-tag": "1.2.3",
    }
    parsed = parse_event({**event, "account": ACCOUNT})  # the envelope moto delivers lacks "account"
    assert isinstance(parsed, ImageEvent)
    assert (parsed.kind, parsed.digest, parsed.source_region) == ("replicate", digest, SOURCE)
    (pushed,) = in_source()
    assert (pushed["detail-type"], pushed["detail"]["action-type"], pushed["resources"]) == (
        "ECR Image Action",
        "PUSH",
        [],
    )
    assert replicator.errors == []
    (replication,) = replicator.replications
    assert replication.event_id == event["id"]


def test_only_repositories_the_filters_select_are_replicated(aws: None) -> None:
    replicator = Replicator(Clients(region=DEST), [SOURCE])  # not started: replicate() by hand
    digest = push("tools/builder", "1", "builder")
    selected = push("shop/api", None, "untagged")
    tools = Pushed(SOURCE, "tools/builder", digest, "1", manifest("builder"), None)
    shop = Pushed(SOURCE, "shop/api", selected, None, manifest("untagged"), None)
    assert replicator.replicate(tools) == []
    (copy,) = replicator.replicate(shop)
    assert "image-tag" not in copy.event
    assert images(DEST, "shop/api") == {selected: []}
    repositories = boto3.client("ecr", region_name=DEST).describe_repositories()["repositories"]
    assert [r["repositoryName"] for r in repositories] == ["shop/api"]


def test_held_events_are_published_late_with_their_original_time(aws: None) -> None:
    in_dest = catch(DEST)
    replicator = Replicator(Clients(region=DEST), [SOURCE]).start()
    try:
        replicator.hold("shop/api", "1.0.0")
        digest = push("shop/api", "1.0.0", "late")
        assert replicator.wait_idle(10)
        assert images(DEST, "shop/api") == {digest: ["1.0.0"]}  # the image is there ...
        assert in_dest() == []  # ... its event is not
        (released,) = replicator.release("shop/api", "1.0.0")
    finally:
        replicator.stop()
    (event,) = in_dest()
    assert event["id"] == released.event_id
    assert event["detail"]["image-digest"] == digest
    assert replicator.held == []


def test_images_that_arrive_by_replication_are_not_replicated_back(aws: None) -> None:
    boto3.client("ecr", region_name=DEST).put_replication_configuration(
        replicationConfiguration={"rules": [{"destinations": [{"region": SOURCE, "registryId": ACCOUNT}]}]}
    )
    replicator = Replicator(Clients(region=DEST), [SOURCE, DEST]).start()
    try:
        push("shop/api", "2.0.0", "two")
        assert replicator.wait_idle(10)
    finally:
        replicator.stop()
    assert [(r.image.region, r.region) for r in replicator.replications] == [(SOURCE, DEST)]


def test_a_failed_copy_raises_a_failed_replication_event(aws: None) -> None:
    dest = boto3.client("ecr", region_name=DEST)
    dest.create_repository(repositoryName="shop/api", imageTagMutability="IMMUTABLE")
    dest.put_image(repositoryName="shop/api", imageManifest=manifest("other"), imageTag="3.0.0")
    in_dest = catch(DEST)
    replicator = Replicator(Clients(region=DEST), [SOURCE]).start()
    try:
        push("shop/api", "3.0.0", "three")
        assert replicator.wait_idle(10)
    finally:
        replicator.stop()
    (event,) = in_dest()
    assert event["detail"]["result"] == "FAILED"
    (replication,) = replicator.replications
    assert replication.error is not None
    assert "AlreadyExistsException" in replication.error  # moto says ImageAlreadyExists, ECR ImageTagAlreadyExists


@pytest.mark.parametrize(
    ("filters", "repository", "selected"),
    [
        ([], "anything/at-all", True),
        ([{"filter": "shop/", "filterType": "PREFIX_MATCH"}], "shop/api", True),
        ([{"filter": "shop/", "filterType": "PREFIX_MATCH"}], "shopping/api", False),
        ([{"filter": "a", "filterType": "PREFIX_MATCH"}, {"filter": "b", "filterType": "PREFIX_MATCH"}], "b1", True),
    ],
)
def test_rule_filters(filters: list[dict[str, str]], repository: str, selected: bool) -> None:
    assert rule_matches({"repositoryFilters": filters}, repository) is selected
