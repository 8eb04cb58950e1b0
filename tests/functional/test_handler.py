"""The Lambda entry point on moto: wiring from the environment, results, and errors that reach the DLQ path."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from ecr_autodeploy import handler as lambda_handler
from ecr_autodeploy.core.errors import ConfigError, EventError
from ecr_autodeploy.local import events
from tests.functional.world import World
from tests.samples import load_event

RULES = {"rules": [{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}]}


@pytest.fixture
def fresh_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(lambda_handler, "_app", None)
    yield
    monkeypatch.setattr(lambda_handler, "_app", None)


def shop(world: World) -> None:
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})


def test_handler_deploys_and_returns_json_ready_outcomes(
    world: World, fresh_handler: None, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    shop(world)
    monkeypatch.setenv("AUTODEPLOY_CONFIG", json.dumps(RULES))
    digest = world.push("shop/api", "v1", "one")
    caplog.set_level(logging.INFO, logger="ecr_autodeploy")

    result = lambda_handler.handler(events.replicate("shop/api", digest, "v1"), None)

    json.dumps(result)  # JSON-serialisable, as Lambda requires
    (outcome,) = result["outcomes"]
    assert outcome["status"] == "deployed"
    assert outcome["digest"] == digest
    assert outcome["task_definition"].endswith("task-definition/shop-api:2")
    decisions = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    assert any(d.get("status") == "deployed" and d.get("digest") == digest for d in decisions)

    again = lambda_handler.handler(events.replicate("shop/api", digest, "v1"), None)
    assert [o["status"] for o in again["outcomes"]] == ["unchanged"]


def test_handler_ignores_other_events_and_alerts_on_failed_replication(
    world: World, fresh_handler: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTODEPLOY_CONFIG", json.dumps(RULES))
    ignored = lambda_handler.handler(load_event("other_source_s3_object_created"), None)
    assert [o["status"] for o in ignored["outcomes"]] == ["ignored"]
    alert = lambda_handler.handler(load_event("replicate_failed"), None)
    assert [o["status"] for o in alert["outcomes"]] == ["alert"]


def test_handler_raises_for_a_malformed_event_so_lambda_retries(
    world: World, fresh_handler: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AUTODEPLOY_CONFIG", json.dumps(RULES))
    with pytest.raises(EventError) as err:
        lambda_handler.handler(load_event("malformed_digest_aws_docs_sample_60_hex"), None)
    assert err.value.field == "detail.image-digest"


def test_handler_without_configuration_names_both_options(world: World, fresh_handler: None) -> None:
    with pytest.raises(ConfigError) as err:
        lambda_handler.handler(load_event("replicate_success_tagged"), None)
    assert "AUTODEPLOY_CONFIG" in str(err.value)
    assert "ECR_SERVICE_REGEX" in str(err.value)
