"""Judging deployments we started from ECS Deployment State Change events: completed, failed, rolled back, once."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import EventError
from ecr_autodeploy.core.notify import Message
from ecr_autodeploy.core.outcomes import Outcome
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.engine.reconcile import Reconciler
from ecr_autodeploy.local import events
from ecr_autodeploy.local.events import deployment_event
from ecr_autodeploy.wiring import EngineSettings, build_app
from tests.functional.rollouts import BREAKER_REASON, TABLE, RolloutCluster, ledger_table
from tests.functional.world import World

ENV = {"AUTODEPLOY_LEDGER_TABLE": TABLE}


class Recorder:
    """A notifier that keeps what it was given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def notify(self, message: Message) -> list[object]:
        self.messages.append(message)
        return []

    def kinds(self) -> list[str]:
        return [m.kind for m in self.messages]


class Setup:
    """The function's wiring on moto with a rollout state machine and a message recorder."""

    def __init__(self, world: World, *, rollback: bool = False, env: Mapping[str, str] = ENV, **breaker: bool) -> None:
        self.world = world
        self.original = world.running("shop", "api")["taskDefinitionArn"]
        clients = Clients(region="us-east-1")
        self.cluster = RolloutCluster(clients, **breaker)
        self.notes = Recorder()
        rules = [
            {
                "repository": "shop/api",
                "tags": ["*"],
                "rollback": rollback,
                "targets": [{"cluster": "shop", "service": "api"}],
            }
        ]
        self.config = parse_config({"rules": rules}, "test-rules")
        self.env = env
        self.app: Dispatcher = build_app(self.config, clients, env=env, cluster=self.cluster, notifier=self.notes)

    def deploy(self, tag: str = "v1") -> Outcome:
        digest = self.world.push("shop/api", tag, tag)
        (outcome,) = self.app.handle(events.replicate("shop/api", digest, tag)).outcomes
        assert outcome.status == "deployed"
        return outcome

    def deliver(self, event: dict[str, Any]) -> Outcome:
        (outcome,) = self.app.handle(event).outcomes
        return outcome

    def running(self) -> str:
        return str(self.world.running("shop", "api")["taskDefinitionArn"])


@pytest.fixture
def shop(world: World) -> World:
    ledger_table()
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    return world


def test_a_completed_rollout_is_reported_once(shop: World) -> None:
    s = Setup(shop)
    started = s.deploy()
    done = s.cluster.complete("api")

    outcome = s.deliver(s.cluster.event(done, "COMPLETED"))

    assert (outcome.status, outcome.rollout_state) == ("completed", "COMPLETED")
    assert outcome.deployment_id == started.deployment_id
    assert outcome.task_definition == started.task_definition
    assert outcome.duration_seconds is not None
    assert s.notes.kinds() == ["started", "completed"]
    message = s.notes.messages[-1]
    assert message.revision == "shop-api:2"
    assert message.console_url is not None
    assert "/clusters/shop/services/api/" in message.console_url
    again = s.deliver(s.cluster.event(done, "COMPLETED"))
    assert again.status == "ignored"
    late = s.deliver(s.cluster.event(done, "IN_PROGRESS"))
    assert late.status == "ignored"
    assert s.notes.kinds() == ["started", "completed"]


def test_in_progress_is_recorded_without_a_message(shop: World) -> None:
    s = Setup(shop)
    s.deploy()

    outcome = s.deliver(s.cluster.event(s.cluster.primary("api"), "IN_PROGRESS"))

    assert (outcome.status, outcome.rollout_state) == ("in_progress", "IN_PROGRESS")
    assert s.notes.kinds() == ["started"]


def test_a_circuit_breaker_rollback_is_failed_with_ecs_reason_and_not_fought(shop: World) -> None:
    s = Setup(shop, rollback=True, breaker=True, breaker_rollback=True)
    s.deploy()
    failed = s.cluster.fail("api")

    outcome = s.deliver(s.cluster.event(failed, "FAILED"))

    assert (outcome.status, outcome.rollout_state) == ("rollout_failed", "FAILED")
    assert outcome.rolled_back is True
    assert BREAKER_REASON in outcome.reason
    assert "rolled back by ECS to shop-api:1" in outcome.reason
    assert outcome.rollback_task_definition is None  # ECS did it, not this tool
    assert len(s.cluster.updates) == 1  # our deployment only: no second rollback on top of ECS's
    assert s.running() == s.original
    assert s.notes.kinds() == ["started", "failed"]
    assert s.notes.messages[-1].outcome == "FAILED, rolled back"


def test_the_rule_rolls_back_when_ecs_does_not_and_reports_the_rollback(shop: World) -> None:
    s = Setup(shop, rollback=True)
    started = s.deploy()
    failed = s.cluster.fail("api")

    outcome = s.deliver(s.cluster.event(failed, "FAILED"))

    assert (outcome.status, outcome.rollout_state, outcome.rolled_back) == ("rollout_failed", "FAILED", True)
    assert outcome.rollback_task_definition == s.original
    assert "rolled back to shop-api:1 by ecr-autodeploy" in outcome.reason
    assert s.running() == s.original
    assert s.cluster.updates[-1] == ("api", s.original)
    assert started.task_definition != s.original

    redelivered = s.deliver(s.cluster.event(failed, "FAILED"))
    assert redelivered.status == "ignored"
    assert len(s.cluster.updates) == 2

    rollback_done = s.cluster.complete("api")
    finished = s.deliver(s.cluster.event(rollback_done, "COMPLETED"))
    assert finished.status == "completed"
    assert s.notes.kinds() == ["started", "failed", "completed"]
    assert s.notes.messages[-1].outcome.startswith(f"rollback of {started.deployment_id}")


def test_breaker_without_its_rollback_leaves_the_rollback_to_the_rule(shop: World) -> None:
    s = Setup(shop, rollback=True, breaker=True, breaker_rollback=False)
    s.deploy()

    outcome = s.deliver(s.cluster.event(s.cluster.fail("api"), "FAILED"))

    assert outcome.rolled_back is True
    assert s.running() == s.original


def test_without_rollback_a_failed_deployment_is_reported_and_left(shop: World) -> None:
    s = Setup(shop, rollback=False)
    started = s.deploy()

    outcome = s.deliver(s.cluster.event(s.cluster.fail("api"), "FAILED"))

    assert (outcome.status, outcome.rolled_back) == ("rollout_failed", None)
    assert s.running() == started.task_definition
    assert len(s.cluster.updates) == 1


def test_events_of_a_superseded_deployment_change_nothing(shop: World) -> None:
    s = Setup(shop, rollback=True)
    first = s.deploy("v1")
    second = s.deploy("v2")

    outcome = s.deliver(deployment_event(first.deployment_id or "", "FAILED", reason=BREAKER_REASON))

    assert outcome.status == "ignored"
    assert "judged before" in outcome.reason
    assert s.running() == second.task_definition
    assert len(s.cluster.updates) == 2


def test_deployments_started_by_others_are_ignored(shop: World) -> None:
    s = Setup(shop)

    outcome = s.deliver(deployment_event("ecs-svc/9999", "COMPLETED"))

    assert outcome.status == "ignored"
    assert "not started by ecr-autodeploy" in outcome.reason
    assert s.notes.messages == []


def test_a_malformed_deployment_event_names_the_field(shop: World) -> None:
    s = Setup(shop)
    event = deployment_event("ecs-svc/1", "FAILED")
    del event["detail"]["deploymentId"]

    with pytest.raises(EventError) as err:
        s.app.handle(event)

    assert err.value.field == "detail.deploymentId"


def test_without_a_ledger_the_digest_tag_recognises_our_deployment(shop: World) -> None:
    s = Setup(shop, env={})
    started = s.deploy()

    outcome = s.deliver(s.cluster.event(s.cluster.complete("api"), "COMPLETED"))

    assert (outcome.status, outcome.deployment_id, outcome.digest) == (
        "completed",
        started.deployment_id,
        started.digest,
    )
    foreign = s.deliver(deployment_event("ecs-svc/initial-api", "COMPLETED"))
    assert foreign.status == "ignored"


def sweeper(s: Setup, timeout: float) -> Reconciler:
    """Return the reconciler of the same function, with rollouts timing out after `timeout` seconds."""
    settings = EngineSettings(rollout_timeout=timeout)
    clients = Clients(region="us-east-1")
    return build_app(s.config, clients, env=s.env, cluster=s.cluster, notifier=s.notes, settings=settings).reconciler


def by_status(outcomes: Sequence[Outcome], status: str) -> list[Outcome]:
    return [o for o in outcomes if o.status == status]


def test_reconcile_times_out_a_rollout_that_never_finishes_and_rolls_it_back(shop: World) -> None:
    s = Setup(shop, rollback=True)
    s.deploy()

    result = sweeper(s, timeout=0).run("us-east-1")

    (timed_out,) = by_status(result.outcomes, "rollout_failed")
    assert (timed_out.rollout_state, timed_out.rolled_back) == ("TIMEOUT", True)
    assert s.running() == s.original
    assert s.notes.kinds()[-1] == "failed"


def test_reconcile_judges_a_rollout_whose_events_were_lost(shop: World) -> None:
    s = Setup(shop)
    s.deploy()
    in_flight = sweeper(s, timeout=3600).run("us-east-1")
    assert [o.rollout_state for o in by_status(in_flight.outcomes, "in_progress")] == ["IN_PROGRESS"]
    s.cluster.complete("api")

    result = sweeper(s, timeout=3600).run("us-east-1")

    assert [o.rollout_state for o in by_status(result.outcomes, "completed")] == ["COMPLETED"]


def test_the_function_reports_its_deployment_from_the_ecs_event(shop: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from ecr_autodeploy import handler as lambda_handler

    monkeypatch.setattr(lambda_handler, "_app", None)
    rules = {"rules": [{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}]}
    monkeypatch.setenv("AUTODEPLOY_CONFIG", json.dumps(rules))
    monkeypatch.setenv("AUTODEPLOY_LEDGER_TABLE", TABLE)
    digest = shop.push("shop/api", "v1", "v1")

    started = lambda_handler.handler(events.replicate("shop/api", digest, "v1"), None)
    (deployed,) = started["outcomes"]
    reported = lambda_handler.handler(deployment_event(deployed["deployment_id"], "COMPLETED"), None)

    (outcome,) = reported["outcomes"]
    assert reported["kind"] == "deployment"
    assert (outcome["status"], outcome["digest"], outcome["task_definition"]) == (
        "completed",
        digest,
        deployed["task_definition"],
    )
