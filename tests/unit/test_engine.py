"""The deploy, track and reconcile use cases on in-memory fakes of their ports (no moto, no network)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import DeployError
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import EngineSettings, assemble
from tests.fakes import HOST, REGION, FakeCluster, FakeRegistry, MemoryLedger, RecordingNotifier, image

API = ServiceRef(REGION, "shop", "api")
WORKER = ServiceRef(REGION, "shop", "worker")
RULE = {"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]}


class World:
    """The fakes, one engine over them, and the time."""

    def __init__(self, rules: Sequence[Mapping[str, Any]] = (RULE,), *, ledger: bool = True, dry_run: bool = False):
        self.now = 1_767_225_600.0
        self.cluster = FakeCluster()
        self.registry = FakeRegistry([image(1, "v1")])
        self.ledger = MemoryLedger() if ledger else None
        self.notifier = RecordingNotifier()
        for ref in (API, WORKER):
            self.cluster.add_service(ref, {"app": f"{HOST}/shop/api@{image(1).digest}"})
        self.app = self.build(rules, dry_run=dry_run)

    def build(self, rules: Sequence[Mapping[str, Any]], *, dry_run: bool = False) -> Dispatcher:
        return assemble(
            parse_config({"rules": list(rules)}, "rules.yaml"),
            self.cluster,
            self.registry,
            ledger=self.ledger,
            notifier=self.notifier,
            region=lambda: REGION,
            dry_run=dry_run,
            settings=EngineSettings(clock=lambda: self.now, sleep=self.sleep, lock_wait=1.0),
        )

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def arrive(self, n: int, tag: str) -> dict[str, Any]:
        return events.replicate("shop/api", self.registry.add(image(n, tag)).digest, tag)

    def statuses(self, event: dict[str, Any]) -> list[str]:
        return [o.status for o in self.app.handle(event).outcomes]


def test_an_image_is_pinned_once_and_a_redelivery_is_unchanged() -> None:
    w = World()
    event = w.arrive(2, "v2")

    assert w.statuses(event) == ["deployed"]
    assert w.cluster.running(API).containers[0]["image"] == f"{HOST}/shop/api@{image(2).digest}"
    assert w.statuses(event) == ["unchanged"]
    assert w.cluster.calls["RegisterTaskDefinition"] == 1
    assert [m.kind for m in w.notifier.messages] == ["started"]
    assert w.ledger is not None
    assert w.ledger.items["svc#us-east-1/shop/api"]["state"] == "STARTED"


def test_a_pinned_deploy_costs_five_ecs_and_ecr_calls() -> None:
    w = World()
    w.statuses(w.arrive(2, "v2"))
    calls = w.cluster.calls + w.registry.calls
    assert calls == {
        "DescribeServices": 1,
        "DescribeTaskDefinition": 1,
        "DescribeImages": 1,
        "RegisterTaskDefinition": 1,
        "UpdateService": 1,
    }


def test_an_older_image_arriving_late_is_skipped() -> None:
    w = World()
    w.statuses(w.arrive(3, "v3"))
    assert w.statuses(w.arrive(2, "v2")) == ["skipped"]
    assert w.cluster.running(API).containers[0]["image"].endswith(image(3).digest)


def test_a_claimed_digest_is_a_duplicate_even_after_another_image_ran() -> None:
    w = World()
    v2 = w.arrive(2, "v2")
    w.statuses(v2)
    w.cluster.add_service(API, {"app": f"{HOST}/shop/api@{image(1).digest}"})  # someone rolled it back by hand
    assert w.statuses(v2) == ["duplicate"]


def test_a_service_another_invocation_holds_fails_after_the_wait_so_lambda_retries() -> None:
    w = World()
    assert w.ledger is not None
    w.ledger.lock(API.ledger_key, "another-invocation", w.now, 60)
    with pytest.raises(DeployError) as failed:
        w.app.handle(w.arrive(2, "v2"))
    (outcome,) = failed.value.outcomes
    assert (outcome["status"], outcome["error_code"]) == ("failed", "ServiceLocked")
    assert w.cluster.calls["UpdateService"] == 0


def test_a_dry_run_plans_and_changes_nothing() -> None:
    w = World(dry_run=True)
    assert w.statuses(w.arrive(2, "v2")) == ["planned"]
    assert w.cluster.calls["RegisterTaskDefinition"] == w.cluster.calls["UpdateService"] == 0
    assert w.notifier.messages == []


def test_without_a_ledger_every_result_says_so() -> None:
    w = World(ledger=False)
    result = w.app.handle(w.arrive(2, "v2"))
    assert [o.status for o in result.outcomes] == ["deployed"]
    assert any("ledger off" in note for note in result.notes)


def test_a_fan_out_describes_ten_services_a_call_and_one_failure_stops_no_other() -> None:
    w = World()
    names = [f"svc{i:02d}" for i in range(12)]
    shared = w.cluster.add_service(ServiceRef(REGION, "shop", names[0]), {"app": f"{HOST}/shop/api:v1"})
    for name in names[1:]:
        w.cluster.add_service(ServiceRef(REGION, "shop", name), revision=shared)
    targets = [{"cluster": "shop", "service": n} for n in [*names, "gone"]]
    rules = [{"repository": "shop/api", "tags": ["v*"], "targets": targets}]
    app = w.build(rules)

    with pytest.raises(DeployError) as failed:
        app.handle(w.arrive(2, "v2"))

    statuses = {o["service"]: o["status"] for o in failed.value.outcomes}
    assert statuses == {**dict.fromkeys(names, "deployed"), "gone": "failed"}
    assert w.cluster.calls["DescribeServices"] == 2
    assert w.cluster.calls["DescribeTaskDefinition"] == 1  # the twelve share one revision


def test_the_deployment_s_ecs_events_are_recognised_and_judged_once() -> None:
    w = World()
    (deployed,) = w.app.handle(w.arrive(2, "v2")).outcomes
    assert deployed.deployment_id is not None
    done = events.deployment_event(deployed.deployment_id, "COMPLETED")

    assert [o.status for o in w.app.handle(done).outcomes] == ["completed"]
    assert [o.status for o in w.app.handle(done).outcomes] == ["ignored"]
    assert [m.kind for m in w.notifier.messages] == ["started", "completed"]


def test_reconcile_deploys_the_newest_allowed_image_and_lists_it_in_a_dry_run() -> None:
    rules = [{"repository": "shop/api", "tags": ["v*"], "targets": [{"cluster": "shop", "service": "api"}]}]
    w = World(rules)
    w.registry.add(image(2, "v2"))
    w.registry.add(image(3, "nightly"))

    listed = w.build(rules, dry_run=True).reconciler.run(REGION)
    assert [(o.status, o.digest) for o in listed.outcomes] == [("drift", image(2).digest)]
    assert w.cluster.calls["UpdateService"] == 0
    fixed = w.app.reconciler.run(REGION)
    assert [(o.status, o.digest) for o in fixed.outcomes] == [("deployed", image(2).digest)]


def test_a_warm_force_event_without_a_ledger_costs_describe_images_and_update_service() -> None:
    rules = [{"repository": "shop/api", "strategy": "force", "targets": [{"cluster": "shop", "service": "api"}]}]
    w = World(rules, ledger=False)
    w.cluster.add_service(API, {"app": f"{HOST}/shop/api:latest"})
    first = w.arrive(2, "latest")
    assert w.statuses(first) == ["deployed"]  # cold: the service and its revision are read once
    w.cluster.calls.clear()
    w.registry.calls.clear()

    assert w.statuses(w.arrive(3, "latest")) == ["deployed"]

    assert w.cluster.calls + w.registry.calls == {"DescribeImages": 1, "UpdateService": 1}
    # The retry of an event this function already forced deploys nothing.
    w.cluster.calls.clear()
    w.registry.calls.clear()
    again = events.replicate("shop/api", image(3, "latest").digest, "latest")
    assert w.statuses(again) == ["unchanged"]
    assert w.cluster.calls["UpdateService"] == 0


def test_a_force_service_that_moved_to_another_revision_is_not_claimed_to_run_the_image() -> None:
    rules = [{"repository": "shop/api", "strategy": "force", "targets": [{"cluster": "shop", "service": "api"}]}]
    w = World(rules, ledger=False)
    w.cluster.add_service(API, {"app": f"{HOST}/shop/api:latest"})
    assert w.statuses(w.arrive(2, "latest")) == ["deployed"]
    w.cluster.add_service(API, {"app": f"{HOST}/shop/api:stable"})  # someone moved it, unseen by the function

    (outcome,) = w.app.handle(w.arrive(3, "latest")).outcomes

    assert (outcome.status, outcome.digest) == ("deployed", None)
    assert "re-pulls what that revision names" in outcome.reason
