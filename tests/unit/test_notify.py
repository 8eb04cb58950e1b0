"""The notify: block and the messages built from it (no sending here)."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.notify import (
    MESSAGE_KINDS,
    Message,
    NotifySettings,
    parse_notify,
    service_console_url,
    slack_payload,
)

TOPIC = "arn:aws:sns:us-east-1:123456789012:deploys"


def test_absent_is_none_and_defaults_take_every_kind() -> None:
    assert parse_notify(None, "rules.yaml") is None
    settings = parse_notify({"sns_topic_arn": TOPIC}, "rules.yaml")
    assert settings == NotifySettings(sns_topic_arn=TOPIC)
    assert settings is not None
    assert settings.on == frozenset(MESSAGE_KINDS)
    assert settings.any


def test_the_on_filter() -> None:
    settings = parse_notify({"webhook_url_ssm_parameter": "/hook", "on": ["failed", "drift"]}, "rules.yaml")
    assert settings is not None
    assert settings.on == {"failed", "drift"}


@pytest.mark.parametrize(
    ("raw", "field", "words"),
    [
        ("yes", "notify", "expected a mapping"),
        ({"email": "x"}, "notify", "unknown key 'email'"),
        ({"sns_topic_arn": "deploys"}, "notify.sns_topic_arn", "not an SNS topic ARN"),
        ({"sns_topic_arn": ""}, "notify.sns_topic_arn", "non-empty string"),
        (
            {"webhook_url_ssm_parameter": "https://hooks.example.com/x"},
            "notify.webhook_url_ssm_parameter",
            "not the URL",
        ),
        ({"slack_webhook_secret_id": "https://hooks.slack.com/x"}, "notify.slack_webhook_secret_id", "not the URL"),
        ({"slack_webhook_ssm_parameter": "/a", "slack_webhook_secret_id": "b"}, "notify", "not both"),
        ({"on": "failed"}, "notify.on", "expected a list"),
        ({"on": ["failed", "rolled_back"]}, "notify.on[1]", "'rolled_back' is not one of"),
    ],
)
def test_problems_name_the_field(raw: Any, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_notify(raw, "rules.yaml")
    assert str(err.value).startswith(f"rules.yaml: {field}: ")
    assert words in str(err.value)


def message(**changes: Any) -> Message:
    fields: dict[str, Any] = {
        "kind": "failed",
        "outcome": "FAILED, rolled back",
        "reason": "ECS deployment circuit breaker: tasks failed to start.",
        "repository": "shop/api",
        "tag": "v1.2.3",
        "digest": "sha256:" + "ab" * 32,
        "region": "us-east-1",
        "source_region": "us-west-2",
        "source_account": "123456789012",
        "cluster": "shop",
        "service": "api",
        "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:7",
        "deployment_id": "ecs-svc/1",
        "duration_seconds": 93.4,
        "console_url": service_console_url("us-east-1", "shop", "api"),
    }
    fields.update(changes)
    return Message(**fields)


def test_text_carries_every_detail() -> None:
    text = message().text()
    assert text.splitlines()[0] == "ecr-autodeploy FAILED, rolled back: shop/api:v1.2.3@sha256:abababababab -> shop/api"
    for line in (
        "Outcome: FAILED, rolled back",
        "Repository: shop/api",
        "Tag: v1.2.3",
        "Source: us-west-2/123456789012",
        "Service: us-east-1/shop/api",
        "Task definition: shop-api:7",
        "Deployment: ecs-svc/1",
        "Duration: 93s",
        "Console: https://us-east-1.console.aws.amazon.com/ecs/v2/clusters/shop/services/api/deployments?region=us-east-1",
    ):
        assert line in text.splitlines()


def test_subject_fits_sns() -> None:
    assert len(message(repository="r" * 200).subject) == 100


def test_slack_escapes_and_links() -> None:
    payload = slack_payload(message(reason="a <b> & c"))
    assert payload["text"].startswith("❌ ")
    details = payload["blocks"][1]["text"]["text"]
    assert "*Reason:* a &lt;b&gt; &amp; c" in details
    assert "*Console:* <https://us-east-1.console.aws.amazon.com/" in details


def test_webhook_body() -> None:
    body = message().to_dict()
    assert body["kind"] == "failed"
    assert body["revision"] == "shop-api:7"
    assert body["source"] == "ecr-autodeploy"


def test_the_generic_webhook_can_come_from_secrets_manager() -> None:
    settings = parse_notify({"webhook_url_secret_id": "ecr-autodeploy/webhook"}, "rules.yaml")
    assert settings == NotifySettings(webhook_url_secret_id="ecr-autodeploy/webhook")
    assert settings.any


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"webhook_url_ssm_parameter": "/a", "webhook_url_secret_id": "b"},
            "rules.yaml: notify: set webhook_url_ssm_parameter or webhook_url_secret_id, not both",
        ),
        (
            {"webhook_url_secret_id": "https://hooks.example.com/x"},
            "rules.yaml: notify.webhook_url_secret_id: give the secret's name or ARN, not the URL",
        ),
    ],
)
def test_generic_webhook_secret_errors(raw: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_notify(raw, "rules.yaml")
    assert str(caught.value) == message
