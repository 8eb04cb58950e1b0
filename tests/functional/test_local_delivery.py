"""The emulated delivery on moto: rule -> SQS -> the real handler, with Lambda's retries and on-failure record."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.local.delivery import DELIVERY_TARGET_ID, Delivery, Invocation, skip_lambda_targets
from tests.functional.world import ACCOUNT, World

REGION = "us-east-1"
RULES = {"rules": [{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}]}
PATTERN = {"source": ["aws.ecr"], "detail-type": ["ECR Replication Action"]}


def function(config: str, retries: int = 2) -> str:
    """Create the function (its code is never run by moto), its async invoke config and DLQ; return its ARN."""
    iam = boto3.client("iam", region_name=REGION)
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:*"}]}
    role = iam.create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("ecr_autodeploy/__init__.py", "")
    lam = boto3.client("lambda", region_name=REGION)
    arn = lam.create_function(
        FunctionName="fn",
        Runtime="python3.12",
        Role=role,
        Handler="ecr_autodeploy.handler.handler",
        Code={"ZipFile": code.getvalue()},
        Environment={"Variables": {"AUTODEPLOY_CONFIG": config}},
    )["FunctionArn"]
    sqs = boto3.client("sqs", region_name=REGION)
    dlq = sqs.create_queue(QueueName="fn-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    lam.put_function_event_invoke_config(
        FunctionName="fn", MaximumRetryAttempts=retries, DestinationConfig={"OnFailure": {"Destination": dlq_arn}}
    )
    return str(arn)


def rule(name: str, function_arn: str, pattern: dict[str, Any], **target: Any) -> None:
    events = boto3.client("events", region_name=REGION)
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    targets: list[Any] = [{"Id": "fn", "Arn": function_arn, **target}]
    events.put_targets(Rule=name, Targets=targets)


def put(source: str, detail_type: str, detail: dict[str, Any], resources: list[str] | None = None) -> str:
    entry: Any = {
        "Source": source,
        "DetailType": detail_type,
        "Detail": json.dumps(detail),
        "Resources": resources or [],
    }
    answer = boto3.client("events", region_name=REGION).put_events(Entries=[entry])
    return str(answer["Entries"][0]["EventId"])


def replicated(digest: str, tag: str) -> dict[str, Any]:
    return {
        "result": "SUCCESS",
        "repository-name": "shop/api",
        "image-digest": digest,
        "source-account": ACCOUNT,
        "action-type": "REPLICATE",
        "source-region": "us-west-2",
        "image-tag": tag,
    }


@pytest.fixture
def shop() -> Iterator[World]:
    with mock_aws():
        world = World()
        world.repository("shop/api")
        world.cluster("shop")
        world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
        yield world


def started(rules: tuple[str, ...], config: str = json.dumps(RULES), retries: int = 2) -> Iterator[Delivery]:
    arn = function(config, retries)
    rule("ecr-autodeploy", arn, PATTERN)
    delivery = Delivery(Clients(region=REGION), REGION, "fn", rules).start()
    try:
        yield delivery
    finally:
        delivery.stop()


@pytest.fixture
def delivery(shop: World) -> Iterator[Delivery]:
    yield from started(("ecr-autodeploy",))


def by_id(event_id: str) -> Any:
    return lambda i: i.event.get("id") == event_id


def test_a_matching_event_reaches_the_real_handler_which_deploys(shop: World, delivery: Delivery) -> None:
    digest = shop.push("shop/api", "v1", "one")
    event_id = put("aws.ecr", "ECR Replication Action", replicated(digest, "v1"))

    (invocation,) = delivery.wait_for(by_id(event_id), 10)

    assert invocation.error is None
    assert invocation.filled == ("account",)
    assert invocation.event["account"] == ACCOUNT
    assert list(invocation.event)[:9] == [
        "version", "id", "detail-type", "source", "account", "time", "region", "resources", "detail"
    ]  # fmt: skip
    assert [(o["status"], o["service"]) for o in invocation.outcomes] == [("deployed", "api")]
    assert shop.images_of("shop", "api")["app"] == shop.image_uri("shop/api", f"@{digest}")
    assert any('"status": "deployed"' in line for line in invocation.logs)
    targets = boto3.client("events", region_name=REGION).list_targets_by_rule(Rule="ecr-autodeploy")["Targets"]
    assert sorted(t["Id"] for t in targets) == sorted(["fn", DELIVERY_TARGET_ID])


def test_events_the_rule_does_not_match_never_reach_the_function(shop: World, delivery: Delivery) -> None:
    event_id = put("aws.s3", "Object Created", {"bucket": {"name": "b"}})
    push_id = put("aws.ecr", "ECR Image Action", {"action-type": "PUSH", "result": "SUCCESS"})
    assert delivery.wait_for(lambda i: i.event.get("id") in (event_id, push_id), 0.5) == []
    assert delivery.invocations == []


def test_the_same_event_delivered_again_is_a_no_op(shop: World, delivery: Delivery) -> None:
    digest = shop.push("shop/api", "v1", "one")
    event_id = put("aws.ecr", "ECR Replication Action", replicated(digest, "v1"))
    (first,) = delivery.wait_for(by_id(event_id), 10)

    delivery.redeliver(first.event)
    found = delivery.wait_for(by_id(event_id), 10, count=2)

    assert [o["status"] for i in found for o in i.outcomes] == ["deployed", "unchanged"]
    assert found[1].event == first.event
    assert found[1].filled == ()  # redelivered as the function first received it


def test_a_failing_invocation_is_retried_then_sent_to_the_on_failure_destination(shop: World) -> None:
    for delivery in started(("ecr-autodeploy",), config="{not json", retries=1):
        event_id = put("aws.ecr", "ECR Replication Action", replicated("sha256:" + "a" * 64, "v1"))
        (invocation,) = delivery.wait_for(by_id(event_id), 10)
    assert invocation.attempts == 2
    assert invocation.error is not None
    assert invocation.error.startswith("ConfigError")
    assert invocation.dead_lettered
    sqs = boto3.client("sqs", region_name=REGION)
    url = sqs.get_queue_url(QueueName="fn-dlq")["QueueUrl"]
    (message,) = sqs.receive_message(QueueUrl=url).get("Messages", [])
    record = json.loads(message["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"]["id"] == event_id
    assert record["responsePayload"]["errorType"] == "ConfigError"


def test_the_target_input_of_the_function_is_kept(shop: World) -> None:
    arn = function(json.dumps(RULES))
    constant = {"source": "ecr-autodeploy", "detail-type": "Reconcile", "detail": {}}
    rule("reconcile", arn, {"source": ["demo.tick"]}, Input=json.dumps(constant))
    delivery = Delivery(Clients(region=REGION), REGION, "fn", ("reconcile",)).start()
    try:
        put("demo.tick", "Tick", {"n": 1})
        (invocation,) = delivery.wait_for(lambda i: i.event.get("source") == "ecr-autodeploy", 10)
    finally:
        delivery.stop()
    assert {k: invocation.event[k] for k in constant} == constant


def test_moto_cannot_deliver_to_a_lambda_target_without_the_route(shop: World) -> None:
    rule("ecr-autodeploy", function(json.dumps(RULES)), PATTERN)
    with pytest.raises(NotImplementedError):
        put("aws.ecr", "ECR Replication Action", replicated("sha256:" + "b" * 64, "v1"))
    with skip_lambda_targets():
        assert put("aws.ecr", "ECR Replication Action", replicated("sha256:" + "b" * 64, "v1"))


def test_invocation_outcomes_are_empty_without_a_result() -> None:
    failed = Invocation(event={}, filled=(), attempts=3, result=None, error="ConfigError: bad")
    assert failed.outcomes == []
