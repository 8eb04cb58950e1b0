"""A fan-out larger than one invocation's batch is split across invocations: each service deployed once, one
result per service, nothing lost when handing a batch on fails, nothing doubled when the event comes again."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError, DeployError
from ecr_autodeploy.core.fanout import batch_event, parse_batch
from ecr_autodeploy.core.routes import RECONCILE_INPUT
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.local.events import replicate
from ecr_autodeploy.local.fanout import LocalFanOut
from ecr_autodeploy.wiring import EngineSettings, build_app
from tests.functional.rollouts import TABLE, ledger_table
from tests.functional.world import World

# 25 services on moto, split in batches: each test takes 1.5 to 3 s (tests/unit/test_fanout.py is the fast loop's).
pytestmark = pytest.mark.slow

SERVICES = [f"svc-{i:02d}" for i in range(25)]
BATCH = 10


@pytest.fixture
def fleet(world: World) -> World:
    ledger_table()
    world.repository("shop/api")
    world.cluster("shop")
    for name in SERVICES:
        world.service("shop", name, {"app": world.image_uri("shop/api", ":v0")})
    return world


def app(fanout: Any, *, batch: int = BATCH, ledger: bool = True) -> Dispatcher:
    rules = [
        {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": n} for n in SERVICES]}
    ]
    config = parse_config({"rules": rules}, "test-rules")
    env = {"AUTODEPLOY_LEDGER_TABLE": TABLE} if ledger else {}
    settings = EngineSettings(fanout_batch=batch)
    return build_app(config, Clients(region="us-east-1"), env=env, fanout=fanout, settings=settings)


def statuses(outcomes: Any) -> Counter[str]:
    return Counter(o.status for o in outcomes)


def digests(world: World) -> Counter[str]:
    return Counter(world.images_of("shop", name)["app"].rsplit("@", 1)[-1] for name in SERVICES)


def test_the_first_batch_deploys_here_and_the_others_are_handed_on_once_each(fleet: World) -> None:
    digest = fleet.push("shop/api", "v1", "one")
    fanout = LocalFanOut()
    parent = app(fanout).handle(replicate("shop/api", digest, "v1"))

    assert statuses(parent.outcomes) == {"deployed": 10, "dispatched": 15}
    assert [parse_batch(e).targets for e in fanout.pending] == [
        tuple(f"us-east-1/shop/{n}" for n in SERVICES[10:20]),
        tuple(f"us-east-1/shop/{n}" for n in SERVICES[20:]),
    ]
    assert {o.reason.split(" (")[0] for o in parent.outcomes if o.status == "dispatched"} == {
        "handed to another invocation with batch 2 of 3",
        "handed to another invocation with batch 3 of 3",
    }
    handled = fanout.drain(app(LocalFanOut()).handle)  # each batch: a fresh invocation of the same function

    assert [h.error for h in handled] == [None, None]
    assert [statuses(h.result.outcomes) for h in handled if h.result] == [{"deployed": 10}, {"deployed": 5}]
    assert [h.result.event_id for h in handled if h.result] == [f"{parent.event_id}/batch-{i}-of-3" for i in (2, 3)]
    assert digests(fleet) == {digest: 25}
    # Every service got exactly one result that deployed it.
    deployed = [str(o.target) for h in handled if h.result for o in h.result.outcomes if o.status == "deployed"]
    deployed += [str(o.target) for o in parent.outcomes if o.status == "deployed"]
    assert sorted(deployed) == sorted(f"us-east-1/shop/{n}" for n in SERVICES)


def test_the_same_event_again_deploys_nothing_twice(fleet: World) -> None:
    digest = fleet.push("shop/api", "v1", "one")
    fanout = LocalFanOut()
    event = replicate("shop/api", digest, "v1")
    app(fanout).handle(event)
    fanout.drain(app(LocalFanOut()).handle)
    revisions = fleet.revisions("shop-svc-00")

    again = app(fanout).handle(event)
    handled = fanout.drain(app(LocalFanOut()).handle)

    # Every service already runs the digest (a claim would stop it otherwise): nothing is registered or updated.
    assert statuses(again.outcomes) == {"unchanged": 10, "dispatched": 15}
    assert [statuses(h.result.outcomes) for h in handled if h.result] == [{"unchanged": 10}, {"unchanged": 5}]
    assert fleet.revisions("shop-svc-00") == revisions


class FailingSecond(LocalFanOut):
    """Lambda refuses the second batch (throttled) once."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def dispatch(self, event: Mapping[str, Any]) -> str:
        self.calls += 1
        if self.calls == 2:
            raise AwsError("handing a batch to the function", "TooManyRequestsException", "Rate exceeded")
        return super().dispatch(event)


def test_a_batch_that_cannot_be_handed_on_fails_the_event_and_its_retry_deploys_the_rest_once(fleet: World) -> None:
    digest = fleet.push("shop/api", "v1", "one")
    event = replicate("shop/api", digest, "v1")
    failing = FailingSecond()
    with pytest.raises(DeployError) as caught:
        app(failing).handle(event)
    first = caught.value.outcomes
    assert Counter(o["status"] for o in first) == {"deployed": 10, "dispatched": 10, "failed": 5}
    assert {o["error_code"] for o in first if o["status"] == "failed"} == {"TooManyRequestsException"}
    fanout_results = failing.drain(app(LocalFanOut()).handle)
    assert [statuses(h.result.outcomes) for h in fanout_results if h.result] == [{"deployed": 10}]

    retried = LocalFanOut()  # Lambda retries the event: every batch is handed on again
    again = app(retried).handle(event)
    handled = retried.drain(app(LocalFanOut()).handle)

    assert statuses(again.outcomes) == {"unchanged": 10, "dispatched": 15}
    assert [statuses(h.result.outcomes) for h in handled if h.result] == [{"unchanged": 10}, {"deployed": 5}]
    assert digests(fleet) == {digest: 25}


def test_a_batch_selects_among_the_rules_targets_and_never_adds_one(fleet: World) -> None:
    digest = fleet.push("shop/api", "v1", "one")
    from ecr_autodeploy.core.events import parse_event

    image = parse_event(replicate("shop/api", digest, "v1"))
    forged = batch_event(image, ["us-east-1/shop/svc-03", "us-east-1/other/payments"], 1, 1)  # type: ignore[arg-type]
    result = app(LocalFanOut()).handle(forged)

    by_target = {o.target: o for o in result.outcomes}
    assert by_target["us-east-1/shop/svc-03"].status == "deployed"
    assert by_target["us-east-1/other/payments"].status == "skipped"
    assert "no rule maps shop/api to now" in by_target["us-east-1/other/payments"].reason


def test_a_batch_never_splits_again(fleet: World) -> None:
    digest = fleet.push("shop/api", "v1", "one")
    from ecr_autodeploy.core.events import parse_event

    image = parse_event(replicate("shop/api", digest, "v1"))
    everything = batch_event(image, [f"us-east-1/shop/{n}" for n in SERVICES], 1, 1)  # type: ignore[arg-type]
    fanout = LocalFanOut()
    result = app(fanout).handle(everything)

    assert statuses(result.outcomes) == {"deployed": 25}
    assert fanout.pending == []


def test_reconcile_deploys_one_batch_and_hands_on_the_rest(fleet: World) -> None:
    digest = fleet.push("shop/api", "v1", "one")
    fanout = LocalFanOut()
    result = app(fanout).handle(RECONCILE_INPUT)

    assert statuses(result.outcomes) == {"deployed": 10, "dispatched": 15}
    handled = fanout.drain(app(LocalFanOut()).handle)
    assert [statuses(h.result.outcomes) for h in handled if h.result] == [{"deployed": 10}, {"deployed": 5}]
    assert digests(fleet) == {digest: 25}


def test_without_a_fan_out_port_one_process_deploys_everything(fleet: World) -> None:
    digest = fleet.push("shop/api", "v1", "one")
    result = app(None).handle(replicate("shop/api", digest, "v1"))
    assert statuses(result.outcomes) == {"deployed": 25}
