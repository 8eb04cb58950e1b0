"""Waves: max_parallel N deploys N services at a time, the next once they all completed; a failed wave stops it."""

from __future__ import annotations

from tests.functional.gated import Gated, by_target, statuses
from tests.functional.world import World

SERVICES = ("api", "web", "worker")


def waves(world: World, size: int) -> Gated:
    rule = {
        "repository": "shop/api",
        "tags": ["*"],
        "max_parallel": size,
        "targets": [{"cluster": "shop", "service": s} for s in SERVICES],
    }
    return Gated(world, [rule], {"shop": list(SERVICES)})


def test_one_service_at_a_time_each_started_by_the_completion_of_the_one_before(world: World) -> None:
    shop = waves(world, 1)

    digest, arrived = shop.arrive("v1")

    assert statuses(arrived) == {"shop/api": "deployed", "shop/web": "deferred", "shop/worker": "deferred"}
    waiting = by_target(arrived)["shop/web"]
    assert (waiting.gate, waiting.reason) == (
        "wave",
        "max_parallel 1: waiting for wave 1 (us-east-1/shop/api) to complete",
    )
    assert statuses(shop.reconcile())["shop/web"] == "deferred"  # reconcile waits for the wave as well

    second = shop.complete("api", "shop")

    assert statuses(second) == {"shop/api": "completed", "shop/web": "deployed", "shop/worker": "deferred"}
    assert "waiting for wave 2 (us-east-1/shop/web) to complete" in by_target(second)["shop/worker"].reason
    third = shop.complete("web", "shop")
    assert statuses(third) == {"shop/web": "completed", "shop/worker": "deployed"}
    assert statuses(shop.complete("worker", "shop")) == {"shop/worker": "completed"}
    assert shop.updates() == ["api", "web", "worker"]
    assert all(shop.runs("shop", s).endswith(f"@{digest}") for s in SERVICES)


def test_the_next_wave_waits_for_every_service_of_the_one_before(world: World) -> None:
    shop = waves(world, 2)

    _, arrived = shop.arrive("v1")

    assert statuses(arrived) == {"shop/api": "deployed", "shop/web": "deployed", "shop/worker": "deferred"}
    half = shop.complete("api", "shop")
    assert statuses(half) == {"shop/api": "completed", "shop/worker": "deferred"}
    assert "waiting for wave 1 (us-east-1/shop/web) to complete" in by_target(half)["shop/worker"].reason
    assert statuses(shop.complete("web", "shop")) == {"shop/web": "completed", "shop/worker": "deployed"}


def test_a_failed_wave_stops_the_rest_reports_and_notifies_it_once(world: World) -> None:
    shop = waves(world, 1)
    digest, _ = shop.arrive("v1")

    failed = shop.fail("api", "shop")

    assert statuses(failed) == {"shop/api": "rollout_failed", "shop/web": "skipped", "shop/worker": "skipped"}
    stopped = by_target(failed)["shop/web"]
    assert stopped.gate == "wave"
    assert f"the rollout of {digest} FAILED on us-east-1/shop/api: max_parallel stops the rest" in stopped.reason
    assert shop.notes.kinds() == ["started", "failed", "stopped"]
    (message,) = [m for m in shop.notes.messages if m.kind == "stopped"]
    assert "not deployed to us-east-1/shop/web, us-east-1/shop/worker" in message.reason
    later = shop.reconcile()
    assert statuses(later)["shop/web"] == "skipped"
    assert "failed on us-east-1/shop/api: max_parallel stops the rest" in by_target(later)["shop/web"].reason
    assert shop.updates() == ["api"]
    assert shop.notes.kinds().count("stopped") == 1


def test_a_newer_image_starts_a_fresh_fan_out_after_a_failed_one(world: World) -> None:
    shop = waves(world, 1)
    shop.arrive("v1")
    shop.fail("api", "shop")

    _, fresh = shop.arrive("v2")

    assert statuses(fresh) == {"shop/api": "deployed", "shop/web": "deferred", "shop/worker": "deferred"}
