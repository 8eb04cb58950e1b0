"""Duplicates and concurrency: the same image delivered many times at once gives exactly one deployment.

Each thread is its own Lambda container (its own clients and Deployer, wired with the ledger as install sets
it up), all released at once by a barrier against one moto backend. moto does not lock, so the injector (fault
rate 0) serialises each request, as AWS applies each request atomically; nothing else is serialised. What
counts is what the emulator carried out: RegisterTaskDefinition and UpdateService requests.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AutodeployError
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import LEDGER_ENV, build_app
from tests.functional.world import World
from tests.reliability.faults import FaultyClients, Injector

pytestmark = pytest.mark.slow  # threads racing on one emulator: 1 to 4 s a test
THREADS = 5
LEDGER_TABLE = "ecr-autodeploy-ledger"
RULES = {
    "rules": [
        {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]},
        {"repository": "shop/sidecar", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]},
    ]
}


@dataclass
class Contest:
    """One shared emulator and a fresh wired function per thread."""

    world: World
    injector: Injector

    def function(self) -> Any:
        """Return a newly wired function: what one Lambda container holds."""
        clients = FaultyClients(self.injector, region=self.world.region)
        return build_app(parse_config(RULES, "rules"), clients, env={LEDGER_ENV: LEDGER_TABLE})

    def race(self, deliveries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any] | AutodeployError]:
        """Deliver each event from its own thread and container, all at once; return results in order."""
        functions = [self.function() for _ in deliveries]
        barrier = threading.Barrier(len(deliveries))
        results: list[dict[str, Any] | AutodeployError] = [{} for _ in deliveries]

        def deliver(i: int) -> None:
            barrier.wait()
            try:
                results[i] = functions[i].handle(deliveries[i]).to_dict()
            except AutodeployError as err:
                results[i] = err

        threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(deliveries))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(t.is_alive() for t in threads), "a delivery hung"
        return results

    def writes(self, operation: str) -> int:
        return sum(1 for w in self.injector.writes if w.operation == operation)


@pytest.fixture
def contest(world: World) -> Contest:
    world.repository("shop/api")
    world.repository("shop/sidecar")
    world.cluster("shop")
    world.service(
        "shop", "api", {"app": world.image_uri("shop/api", ":v0"), "envoy": world.image_uri("shop/sidecar", ":1.0")}
    )
    boto3.client("dynamodb", region_name=world.region).create_table(
        TableName=LEDGER_TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return Contest(world, Injector(seed=0, rate=0.0, serialize=True))


def statuses(results: list[dict[str, Any] | AutodeployError]) -> Counter[str]:
    found: Counter[str] = Counter()
    for result in results:
        if isinstance(result, AutodeployError):
            found[f"error: {result}"] += 1
        else:
            found.update(str(o["status"]) for o in result["outcomes"])
    return found


def test_the_same_event_five_times_at_once_deploys_once(contest: Contest) -> None:
    digest = contest.world.push("shop/api", "v1", "one")
    event = events.replicate("shop/api", digest, "v1")

    results = contest.race([event] * THREADS)

    seen = statuses(results)
    assert seen["deployed"] == 1, seen
    assert sum(seen.values()) == THREADS, seen
    assert set(seen) <= {"deployed", "duplicate", "unchanged"}, seen
    assert contest.writes("RegisterTaskDefinition") == 1
    assert contest.writes("UpdateService") == 1
    assert contest.world.images_of("shop", "api")["app"].endswith(f"@{digest}")


@pytest.mark.parametrize(
    "deliveries",
    [
        pytest.param(lambda d: [events.replicate("shop/api", d, "v2") for _ in range(THREADS)], id="new-event-ids"),
        pytest.param(
            lambda d: [
                events.replicate("shop/api", d, "v2"),
                events.push("shop/api", d, "v2"),
                events.replicate("shop/api", d),
                events.push("shop/api", d),
                events.replicate("shop/api", d, "v2"),
            ],
            id="replicate-and-push",
        ),
    ],
)
def test_one_image_arriving_by_five_routes_at_once_deploys_once(
    contest: Contest, deliveries: Callable[[str], list[dict[str, Any]]]
) -> None:
    digest = contest.world.push("shop/api", "v2", "two")

    results = contest.race(deliveries(digest))

    seen = statuses(results)
    assert seen["deployed"] == 1, seen
    assert set(seen) <= {"deployed", "duplicate", "unchanged"}, seen
    assert contest.writes("UpdateService") == 1


def test_two_repositories_of_one_service_at_once_lose_no_update(contest: Contest) -> None:
    for round_ in range(3):
        app = contest.world.push("shop/api", f"v{round_}", f"app-{round_}")
        sidecar = contest.world.push("shop/sidecar", f"1.{round_}", f"sidecar-{round_}")
        arrivals = [events.replicate("shop/api", app, f"v{round_}"), events.replicate("shop/sidecar", sidecar)]

        results = contest.race(arrivals + arrivals)

        seen = statuses(results)
        assert seen["deployed"] == 2, (round_, seen)
        images = contest.world.images_of("shop", "api")
        # Without the per-service lock, the second registration copies the old revision and drops the first pin.
        assert images["app"].endswith(f"shop/api@{app}"), (round_, images)
        assert images["envoy"].endswith(f"shop/sidecar@{sidecar}"), (round_, images)
