"""Deployment windows and alarm gates: deferred with the reason, deployed by reconcile once open, newest only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from ecr_autodeploy.core.errors import DeployError
from tests.functional.gated import Gated, by_target, statuses
from tests.functional.world import World

MONDAY_EVENING = datetime(2026, 1, 5, 18, 30, tzinfo=UTC)  # 19:30 in Berlin
TUESDAY_MORNING = datetime(2026, 1, 6, 8, 30, tzinfo=UTC)  # 09:30 in Berlin


def window_shop(world: World) -> Gated:
    rules = [
        {
            "repository": "shop/api",
            "tags": ["*"],
            "windows": ["Mon-Fri 09:00-16:00 Europe/Berlin"],
            "targets": [{"cluster": "shop", "service": "api"}],
        }
    ]
    return Gated(world, rules, {"shop": ["api"]})


def test_outside_its_window_an_event_is_deferred_and_reconcile_deploys_the_newest_when_it_opens(world: World) -> None:
    shop = window_shop(world)
    shop.at(MONDAY_EVENING)

    _, first = shop.arrive("v1")
    newest, second = shop.arrive("v2")

    for result in (first, second):
        (outcome,) = result.outcomes
        assert (outcome.status, outcome.gate) == ("deferred", "window")
        assert "outside its deployment windows (Mon-Fri 09:00-16:00 Europe/Berlin)" in outcome.reason
        assert "the next opens 2026-01-06T08:00:00+00:00 (Tue 09:00 Europe/Berlin)" in outcome.reason
    assert shop.reconcile().outcomes[0].status == "deferred"  # still closed
    assert shop.updates() == []

    shop.at(TUESDAY_MORNING)
    opened = shop.reconcile()

    assert statuses(opened) == {"shop/api": "deployed"}
    assert opened.outcomes[0].digest == newest
    assert shop.updates() == ["api"]


def test_a_dry_run_says_deferred_too(world: World) -> None:
    shop = window_shop(world)
    shop.at(MONDAY_EVENING)
    shop.push("v1")

    (outcome,) = shop.wire(dry_run=True).reconciler.run("us-east-1").outcomes

    assert (outcome.status, outcome.gate) == ("deferred", "window")


def alarm_shop(world: World) -> Gated:
    rules = [
        {
            "repository": "shop/api",
            "tags": ["*"],
            "hold_if_alarm": ["checkout-5xx", "latency"],
            "targets": [{"cluster": "shop", "service": "api"}, {"cluster": "shop", "service": "web"}],
        }
    ]
    return Gated(world, rules, {"shop": ["api", "web"]})


def test_while_an_alarm_is_in_alarm_deploys_are_deferred_naming_it(world: World) -> None:
    shop = alarm_shop(world)
    shop.set_alarm("checkout-5xx", "ALARM")
    shop.set_alarm("latency", "OK")

    _, held = shop.arrive("v1")

    assert statuses(held) == {"shop/api": "deferred", "shop/web": "deferred"}
    outcome = by_target(held)["shop/api"]
    assert outcome.gate == "alarm"
    assert outcome.reason == "alarm checkout-5xx in ALARM (us-east-1): deployed once none of them is"
    shop.set_alarm("checkout-5xx", "OK")
    newest = shop.push("v2")

    released = shop.reconcile()

    assert statuses(released) == {"shop/api": "deployed", "shop/web": "deployed"}
    assert {o.digest for o in released.outcomes} == {newest}


def test_an_alarm_that_does_not_exist_holds_deploys_rather_than_letting_them_through(world: World) -> None:
    shop = alarm_shop(world)
    shop.set_alarm("checkout-5xx", "OK")

    _, held = shop.arrive("v1")

    assert statuses(held) == {"shop/api": "deferred", "shop/web": "deferred"}
    assert "alarm latency does not exist in us-east-1" in held.outcomes[0].reason


def test_an_alarm_read_that_fails_fails_the_targets_so_the_event_is_retried(world: World) -> None:
    shop = alarm_shop(world)

    def refuse(**_: object) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "DescribeAlarms")

    shop.clients.client("cloudwatch", "us-east-1").meta.events.register("before-call", refuse)

    with pytest.raises(DeployError) as failed:
        shop.arrive("v1")

    assert {o["status"] for o in failed.value.outcomes} == {"failed"}
    assert "reading alarms us-east-1: checkout-5xx, latency: AccessDenied" in failed.value.outcomes[0]["reason"]
    assert shop.updates() == []
