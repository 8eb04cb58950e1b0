"""Notifications on moto and a local HTTP server: SNS, Slack and webhook URLs from SSM / Secrets Manager.

A failing channel never fails or repeats a deployment, and the webhook URL (a secret) never reaches a log line
or a result.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.outcomes import Result
from ecr_autodeploy.engine.deploy import Deployer
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import build_deployer, load_config
from tests.functional.world import ACCOUNT, World
from tests.samples import load_event

SECRET_PATH = "/services/T0SECRET/B0SECRET/xoxSecretToken123"
RULE = {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}


class Hook:
    """A local webhook receiver answering `status` and keeping every body it got."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.bodies: list[dict[str, Any]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output quiet

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{SECRET_PATH}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook() -> Iterator[Hook]:
    h = Hook()
    yield h
    h.close()


@pytest.fixture
def shop(world: World) -> World:
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    return world


def secure_parameter(name: str, value: str) -> None:
    boto3.client("ssm", region_name="us-east-1").put_parameter(Name=name, Value=value, Type="SecureString")


def deployer(notify: dict[str, Any]) -> Deployer:
    config = parse_config({"rules": [RULE], "notify": notify}, "test-rules")
    return build_deployer(config, Clients(region="us-east-1"), env={})


def sns_queue(topic_name: str = "deploys") -> tuple[str, str]:
    """Create a topic with an SQS subscriber; return (topic ARN, queue URL)."""
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name=topic_name)["TopicArn"]
    queue = sqs.create_queue(QueueName=f"{topic_name}-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def received(queue: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs", region_name="us-east-1")
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    return [json.loads(m["Body"]) for m in messages]


def test_sns_gets_the_started_message_with_every_detail(shop: World) -> None:
    topic, queue = sns_queue()
    digest = shop.push("shop/api", "v1", "one")

    result = deployer({"sns_topic_arn": topic}).handle(events.replicate("shop/api", digest, "v1"))

    (outcome,) = result.outcomes
    (note,) = received(queue)
    assert note["Subject"].startswith("ecr-autodeploy deployment started: shop/api:v1@sha256:")
    text = note["Message"]
    for expected in (
        "Repository: shop/api",
        "Tag: v1",
        f"Digest: {digest}",
        f"Source: us-west-2/{ACCOUNT}",
        "Service: us-east-1/shop/api",
        "Task definition: shop-api:2",
        f"Deployment: {outcome.deployment_id}",
        "Duration: ",
        "Console: https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/shop/services/api/deployments",
    ):
        assert expected in text, expected
    assert note["MessageAttributes"]["kind"]["Value"] == "started"


def test_slack_url_from_an_ssm_secure_string(shop: World, hook: Hook) -> None:
    secure_parameter("/ecr-autodeploy/slack-webhook", hook.url)
    digest = shop.push("shop/api", "v1", "one")

    deployer({"slack_webhook_ssm_parameter": "/ecr-autodeploy/slack-webhook"}).handle(
        events.replicate("shop/api", digest, "v1")
    )

    (body,) = hook.bodies
    assert body["text"].startswith("🚀 ecr-autodeploy deployment started: shop/api:v1")
    details = body["blocks"][1]["text"]["text"]
    assert f"*Digest:* {digest}" in details
    assert "|open in console>" in details


def test_slack_url_from_secrets_manager_and_a_generic_webhook(shop: World, hook: Hook) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="ecr-autodeploy/slack", SecretString=json.dumps({"url": hook.url})
    )
    secure_parameter("/ecr-autodeploy/webhook", hook.url)
    digest = shop.push("shop/api", "v1", "one")

    deployer(
        {"slack_webhook_secret_id": "ecr-autodeploy/slack", "webhook_url_ssm_parameter": "/ecr-autodeploy/webhook"}
    ).handle(events.replicate("shop/api", digest, "v1"))

    slack, generic = sorted(hook.bodies, key=lambda b: "blocks" not in b)
    assert "blocks" in slack
    assert generic["kind"] == "started"
    assert generic["digest"] == digest
    assert generic["revision"] == "shop-api:2"
    assert generic["source"] == "ecr-autodeploy"


def test_replication_failure_is_notified(world: World, hook: Hook) -> None:
    secure_parameter("/hook", hook.url)
    config = parse_config({"rules": [RULE], "notify": {"webhook_url_ssm_parameter": "/hook"}}, "test-rules")

    result = build_deployer(config, Clients(region="us-east-1"), env={}).handle(load_event("replicate_failed"))

    assert [o.status for o in result.outcomes] == ["alert"]
    (body,) = hook.bodies
    assert body["kind"] == "replication_failed"
    assert "ecr/repositories/private/" in body["console_url"]


def test_the_on_filter_keeps_other_kinds_out(shop: World, hook: Hook) -> None:
    secure_parameter("/hook", hook.url)
    digest = shop.push("shop/api", "v1", "one")

    deployer({"webhook_url_ssm_parameter": "/hook", "on": ["failed"]}).handle(
        events.replicate("shop/api", digest, "v1")
    )

    assert hook.bodies == []


def test_failing_notifiers_never_fail_the_deployment_and_never_leak_the_url(
    shop: World, caplog: pytest.LogCaptureFixture
) -> None:
    broken = Hook(status=500)
    try:
        secure_parameter("/broken", broken.url)
        secure_parameter("/not-https", "ftp://example.com" + SECRET_PATH)
        digest = shop.push("shop/api", "v1", "one")
        caplog.set_level(logging.DEBUG, logger="ecr_autodeploy")
        notify = {
            "sns_topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:no-such-topic",
            "slack_webhook_ssm_parameter": "/not-https",
            "webhook_url_ssm_parameter": "/broken",
        }

        result = deployer(notify).handle(events.replicate("shop/api", digest, "v1"))
    finally:
        broken.close()

    assert [o.status for o in result.outcomes] == ["deployed"]
    assert shop.images_of("shop", "api")["app"].endswith(f"@{digest}")
    assert len(broken.bodies) == 1  # tried once, not repeated
    errors = [
        json.loads(r.getMessage())
        for r in caplog.records
        if r.levelno == logging.ERROR and '"notify"' in r.getMessage()
    ]
    assert {e["notify"] for e in errors} == {f"sns {notify['sns_topic_arn']}", "slack", "webhook"}
    assert any("HTTP Error 500" in e["error"] for e in errors)
    assert any("SSM parameter /not-https" in e["error"] and "https://" in e["error"] for e in errors)
    assert_secret_absent(caplog, result, broken.url)


def assert_secret_absent(caplog: pytest.LogCaptureFixture, result: Result, url: str) -> None:
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert logged  # something was logged at all
    for secret in (url, SECRET_PATH, "xoxSecretToken123"):
        assert secret not in logged
        assert secret not in json.dumps(result.to_dict())


def test_the_secret_never_appears_in_logs_when_delivery_works(
    shop: World, hook: Hook, caplog: pytest.LogCaptureFixture
) -> None:
    secure_parameter("/hook", hook.url)
    digest = shop.push("shop/api", "v1", "one")
    caplog.set_level(logging.DEBUG, logger="ecr_autodeploy")
    caplog.set_level(logging.INFO)

    result = deployer({"slack_webhook_ssm_parameter": "/hook", "webhook_url_ssm_parameter": "/hook"}).handle(
        events.replicate("shop/api", digest, "v1")
    )

    assert len(hook.bodies) == 2
    assert_secret_absent(caplog, result, hook.url)


def test_a_missing_parameter_is_an_error_naming_it_not_a_crash(shop: World, caplog: pytest.LogCaptureFixture) -> None:
    digest = shop.push("shop/api", "v1", "one")
    caplog.set_level(logging.ERROR, logger="ecr_autodeploy")

    result = deployer({"webhook_url_ssm_parameter": "/nowhere"}).handle(events.replicate("shop/api", digest, "v1"))

    assert [o.status for o in result.outcomes] == ["deployed"]
    assert any("ParameterNotFound" in r.getMessage() and "/nowhere" in r.getMessage() for r in caplog.records)


def test_a_bad_notify_block_fails_at_load_naming_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    document = {"rules": [RULE], "notify": {"on": ["started", "deployed"]}}
    monkeypatch.setenv("AUTODEPLOY_CONFIG", json.dumps(document))

    with pytest.raises(ConfigError) as err:
        load_config()

    assert "notify.on[1]" in str(err.value)


def test_the_generic_webhook_url_from_secrets_manager(shop: World, hook: Hook) -> None:
    boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="ecr-autodeploy/webhook", SecretString=hook.url
    )
    digest = shop.push("shop/api", "v1", "one")

    deployer({"webhook_url_secret_id": "ecr-autodeploy/webhook"}).handle(events.replicate("shop/api", digest, "v1"))

    (generic,) = hook.bodies
    assert generic["kind"] == "started"
    assert generic["digest"] == digest


@pytest.mark.parametrize(
    "control", ["\t", "\x0b", "\n", " ", "\x7f"], ids=["tab", "vertical-tab", "newline", "space", "del"]
)
def test_a_stored_url_with_a_control_character_is_refused_at_read_time_and_never_shown(
    shop: World, caplog: pytest.LogCaptureFixture, control: str
) -> None:
    url = f"https://hooks.example.com/services/T0SECRET/B0SECRET{control}xoxSecretToken123"
    secure_parameter("/hook", url)
    digest = shop.push("shop/api", "v1", "one")
    caplog.set_level(logging.DEBUG, logger="ecr_autodeploy")

    result = deployer({"webhook_url_ssm_parameter": "/hook"}).handle(events.replicate("shop/api", digest, "v1"))

    assert [o.status for o in result.outcomes] == ["deployed"]
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and '"notify"' in r.getMessage()]
    assert any("SSM parameter /hook" in e and "control character" in e for e in errors)
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    for part in ("T0SECRET", "xoxSecretToken123", "hooks.example.com"):
        assert part not in logged
        assert part not in json.dumps(result.to_dict())
