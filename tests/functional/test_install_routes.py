"""The installed rules deliver exactly the events the handler accepts (moto's own pattern matching, through an
SQS target)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from ecr_autodeploy.aws.installer import InstallOptions, install
from ecr_autodeploy.core.patterns import DEPLOYMENT_EVENT_NAMES
from ecr_autodeploy.local import events
from tests.eventbridge import deployment_verdict, is_cloudtrail, verdict
from tests.functional.installs import (
    CONFIG,
    NAME,
    PACKAGE,
    REGION,
    RecordingClients,
    bootstrapped,
)
from tests.functional.world import World
from tests.samples import load_event, sample_names


@pytest.fixture
def clients(world: World) -> RecordingClients:
    return bootstrapped(RecordingClients(region=REGION))


# ---- the rules deliver exactly what the handler accepts -------------------------------------------------------


def probe_queue(rule: str) -> str:
    """Route an installed rule to an SQS queue instead of the function; return the queue URL.

    moto matches patterns for SQS targets but cannot deliver to a Lambda target (it raises), so the function's
    target is swapped for the queue; the rule and its pattern stay exactly as install made them.
    """
    sqs = boto3.client("sqs", REGION)
    url = sqs.create_queue(QueueName=f"probe-{rule}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rules = boto3.client("events", REGION)
    for name in rules.list_rules(NamePrefix=NAME)["Rules"]:
        rules.remove_targets(Rule=name["Name"], Ids=[NAME])
    rules.put_targets(Rule=rule, Targets=[{"Id": "probe", "Arn": arn}])
    return url


def delivered(event: Mapping[str, Any], queue: str) -> bool:
    """Put one event on the default bus; return whether the rule routed it to the queue."""
    entry: Any = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": [r for r in event.get("resources", []) if isinstance(r, str)],
    }
    put = boto3.client("events", REGION).put_events(Entries=[entry])
    assert put["FailedEntryCount"] == 0
    sqs = boto3.client("sqs", REGION)
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return bool(messages)


@pytest.mark.parametrize("cloudtrail", [False, True], ids=["ecr-events", "with-cloudtrail"])
def test_the_image_rule_delivers_every_accepted_sample_and_no_ignored_one(
    world: World, clients: RecordingClients, cloudtrail: bool
) -> None:
    install(clients, CONFIG, InstallOptions(cloudtrail=cloudtrail), PACKAGE)
    queue = probe_queue(NAME)
    checked = {"accepted": 0, "ignored": 0}
    for name in sample_names():
        event = load_event(name)
        if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
            continue  # not an EventBridge event at all
        found = verdict(event)
        if found == "malformed":
            continue
        expected = found == "accepted" and (cloudtrail or not is_cloudtrail(event))
        assert delivered(event, queue) == expected, name
        checked[found] += 1
    assert checked["accepted"] >= 8
    assert checked["ignored"] >= 6


def test_the_deployment_rule_delivers_the_deployment_states_only(world: World, clients: RecordingClients) -> None:
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    queue = probe_queue(f"{NAME}-deployments")
    for name in (*DEPLOYMENT_EVENT_NAMES, "SERVICE_TASK_PLACEMENT_FAILURE"):
        event = load_event("other_source_ecs_deployment_state_change")
        event["detail"]["eventName"] = name
        assert delivered(event, queue) == (deployment_verdict(event) == "accepted"), name
    assert not delivered(events.replicate("shop/api", "sha256:" + "a" * 64, "v1"), queue)
