"""The engine judging by the service deployment, on in-memory fakes: events, the sweep, pauses, native rollback."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.model import LifecycleHook, Service, ServiceDeployment, ServiceRef
from ecr_autodeploy.core.outcomes import Outcome
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import EngineSettings, assemble
from tests.fakes import HOST, REGION, FakeCluster, FakeRegistry, MemoryLedger, RecordingNotifier, image

API = ServiceRef(REGION, "shop", "api")
CANARY = {"strategy": "CANARY", "canaryConfiguration": {"canaryBakeTimeInMinutes": 5}, "bakeTimeInMinutes": 10}


class World:
    def __init__(self, rule: Mapping[str, Any] | None = None, configuration: Mapping[str, Any] | None = None) -> None:
        self.now = 1_767_225_600.0
        self.cluster = FakeCluster()
        self.registry = FakeRegistry([image(1, "v1")])
        self.ledger = MemoryLedger()
        self.notifier = RecordingNotifier()
        self.cluster.add_service(API, {"app": f"{HOST}/shop/api@{image(1).digest}"})
        self.cluster.live[API].configuration = dict(configuration or {})
        base = {"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]}
        self.app: Dispatcher = assemble(
            parse_config({"rules": [{**base, **(rule or {})}]}, "rules.yaml"),
            self.cluster,
            self.registry,
            ledger=self.ledger,
            notifier=self.notifier,
            region=lambda: REGION,
            settings=EngineSettings(clock=lambda: self.now, sleep=self.sleep, lock_wait=1.0),
        )

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def deploy(self) -> Outcome:
        event = events.replicate("shop/api", self.registry.add(image(2, "v2")).digest, "v2")
        (outcome,) = self.app.handle(event).outcomes
        assert outcome.status == "deployed"
        return outcome

    def service_deployment(
        self, deployment_id: str, status: str, stage: str | None = None, **fields: Any
    ) -> ServiceDeployment:
        number = deployment_id.removeprefix("ecs-svc/")
        sd = ServiceDeployment(
            f"arn:aws:ecs:{REGION}:123456789012:service-deployment/shop/api/sd-{number}",
            status,
            stage,
            target_revision=f"arn:aws:ecs:{REGION}:123456789012:service-revision/shop/api/{number}",
            configuration=dict(self.cluster.live[API].configuration),
            **fields,
        )
        listed = (self.cluster.service_deployment_list or {}).get(API, [])
        if any(old.arn == sd.arn for old in listed):
            self.cluster.set_service_deployment(API, sd)
        else:
            self.cluster.add_service_deployment(API, sd)
        return sd

    def event(self, deployment_id: str, state: str) -> Outcome:
        (outcome,) = self.app.handle(events.deployment_event(deployment_id, state)).outcomes
        return outcome

    def sweep(self, deployment_id: str) -> Outcome:
        record = self.ledger.records[deployment_id]
        service = self.cluster.services([API])[API]
        assert isinstance(service, Service)
        (outcome,) = self.app.tracker.sweep([(record, service)])
        return outcome


def test_the_rule_s_canary_is_set_in_the_same_update_service() -> None:
    w = World({"deployment": {"strategy": "CANARY", "canary_percent": 10, "alarms": ["api-5xx"]}})
    w.cluster.live[API].configuration = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}}
    w.deploy()
    assert w.cluster.calls["UpdateService"] == 1
    assert w.cluster.configurations == [
        {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 10.0},
            "alarms": {"alarmNames": ["api-5xx"], "enable": True, "rollback": True},
        }
    ]
    assert w.cluster.calls["ListServiceDeployments"] == 0, "the deploy itself makes no extra call"


def test_a_code_deploy_service_is_skipped_without_an_update_service() -> None:
    w = World()
    w.cluster.live[API].controller = "CODE_DEPLOY"
    event = events.replicate("shop/api", w.registry.add(image(2, "v2")).digest, "v2")
    (outcome,) = w.app.handle(event).outcomes
    assert outcome.status == "skipped"
    assert "CODE_DEPLOY" in outcome.reason
    assert (w.cluster.calls["RegisterTaskDefinition"], w.cluster.calls["UpdateService"]) == (0, 0)


def test_a_completed_event_while_ecs_still_bakes_is_progress_then_successful_completes() -> None:
    w = World(configuration=CANARY)
    deployed = w.deploy()
    assert deployed.deployment_id is not None
    w.service_deployment(deployed.deployment_id, "IN_PROGRESS", "BAKE_TIME", production_traffic=100.0)
    early = w.event(deployed.deployment_id, "COMPLETED")
    assert (early.status, early.stage) == ("in_progress", "BAKE_TIME 10 min")
    assert w.ledger.records[deployed.deployment_id].service_deployment_arn is not None
    w.service_deployment(deployed.deployment_id, "SUCCESSFUL", "CLEAN_UP")
    assert w.sweep(deployed.deployment_id).status == "completed"
    assert [m.kind for m in w.notifier.messages] == ["started", "completed"]


def test_an_alarm_rollback_is_rollout_failed_naming_the_alarm_and_never_rolled_back_again() -> None:
    w = World({"rollback": True}, configuration=CANARY)
    deployed = w.deploy()
    assert deployed.deployment_id is not None
    w.service_deployment(
        deployed.deployment_id,
        "ROLLBACK_IN_PROGRESS",
        "PRODUCTION_TRAFFIC_SHIFT",
        reason="CloudWatch alarm api-5xx went to ALARM",
        triggered_alarms=("api-5xx",),
    )
    failed = w.event(deployed.deployment_id, "FAILED")
    assert (failed.status, failed.rolled_back, failed.alarms) == ("rollout_failed", True, ("api-5xx",))
    assert "api-5xx" in failed.reason
    assert w.cluster.calls["UpdateService"] == 1
    assert w.cluster.stopped == []
    assert [m.kind for m in w.notifier.messages] == ["started", "failed"]


def test_a_paused_deployment_is_paused_however_long_and_never_timed_out() -> None:
    w = World({"rollback": True}, configuration=CANARY)
    deployed = w.deploy()
    assert deployed.deployment_id is not None
    hook = LifecycleHook("hook-1", "PAUSE", "AWAITING_ACTION")
    w.service_deployment(deployed.deployment_id, "IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", hooks=(hook,))
    w.now += 6 * 3600
    paused = w.sweep(deployed.deployment_id)
    assert (paused.status, paused.rollout_state, paused.stage) == ("paused", "PAUSED", "POST_TEST_TRAFFIC_SHIFT paused")
    assert w.ledger.records[deployed.deployment_id].open
    assert (w.cluster.stopped, w.cluster.calls["UpdateService"]) == ([], 1)


def test_the_sweep_gives_a_baking_strategy_its_bake_times_and_then_stops_it_with_rollback() -> None:
    w = World({"rollback": True}, configuration=CANARY)
    deployed = w.deploy()
    assert deployed.deployment_id is not None
    sd = w.service_deployment(deployed.deployment_id, "IN_PROGRESS", "SCALE_UP")
    w.now += 30 * 60 + 10 * 60  # past the 30-minute timeout, within it plus the 15 baking minutes
    assert w.sweep(deployed.deployment_id).status == "in_progress"
    w.now += 10 * 60
    timed_out = w.sweep(deployed.deployment_id)
    assert (timed_out.status, timed_out.rollout_state, timed_out.rolled_back) == ("rollout_failed", "TIMEOUT", True)
    assert "StopServiceDeployment" in timed_out.reason
    assert w.cluster.stopped == [(sd.arn, True)]
    assert w.cluster.calls["UpdateService"] == 1, "a native rollback is no revision swap"


def test_a_rolling_deployment_ecs_is_rolling_back_is_not_timed_out() -> None:
    w = World({"rollback": True})
    deployed = w.deploy()
    assert deployed.deployment_id is not None
    w.service_deployment(deployed.deployment_id, "ROLLBACK_IN_PROGRESS", reason="circuit breaker")
    w.now += 2 * 3600
    assert w.sweep(deployed.deployment_id).status == "in_progress"
    w.service_deployment(deployed.deployment_id, "ROLLBACK_SUCCESSFUL", reason="circuit breaker")
    judged = w.sweep(deployed.deployment_id)
    assert (judged.status, judged.rolled_back) == ("rollout_failed", True)
    assert w.cluster.calls["UpdateService"] == 1


def test_without_the_api_the_deployments_list_judges_as_before() -> None:
    w = World()
    deployed = w.deploy()
    assert deployed.deployment_id is not None
    live = w.cluster.live[API]
    live.deployments = [replace(live.deployments[0], rollout_state="COMPLETED")]
    assert w.sweep(deployed.deployment_id).status == "completed"
    assert w.cluster.service_deployment_list is None


def test_a_stopped_native_deployment_is_reported_failed_and_not_stopped_again() -> None:
    w = World({"rollback": True}, configuration=CANARY)
    deployed = w.deploy()
    assert deployed.deployment_id is not None
    w.service_deployment(deployed.deployment_id, "STOPPED", "PRODUCTION_TRAFFIC_SHIFT", reason="stopped by a person")
    judged = w.sweep(deployed.deployment_id)
    assert (judged.status, judged.rolled_back) == ("rollout_failed", None)
    assert "nothing to stop" in judged.reason
    assert w.cluster.stopped == []
