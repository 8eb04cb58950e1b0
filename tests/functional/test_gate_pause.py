"""Pauses (a freeze): events are recorded and skipped; on resume reconcile deploys the newest allowed image only."""

from __future__ import annotations

import json
import logging

import pytest

from ecr_autodeploy.core.pauses import SCOPE_ALL, Pause, rule_scope, service_scope
from tests.functional.gated import Gated, statuses
from tests.functional.world import World

RULES = [
    {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]},
    {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "web"}]},
]


@pytest.fixture
def shop(world: World) -> Gated:
    return Gated(world, RULES, {"shop": ["api", "web"]})


def test_while_paused_events_are_logged_and_skipped_and_resume_deploys_the_newest_only(
    shop: Gated, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="ecr_autodeploy")
    shop.store.pause(Pause(SCOPE_ALL, "holiday freeze", "arn:aws:iam::123456789012:user/jo", shop.now()))

    _, first = shop.arrive("v1")
    newest, second = shop.arrive("v2")

    for result in (first, second):
        assert statuses(result) == {"shop/api": "skipped", "shop/web": "skipped"}
        assert all(o.reason.startswith("paused (holiday freeze): every deploy since") for o in result.outcomes)
        assert all(o.gate == "pause" for o in result.outcomes)
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith('{"')]
    assert sum(1 for line in logged if line.get("gate") == "pause") == 4  # each decision is one JSON line
    assert shop.updates() == []
    assert shop.reconcile().outcomes[0].status == "skipped"  # reconcile pauses too

    assert [p.scope for p in shop.store.resume(None)] == ["all"]
    resumed = shop.reconcile()

    assert statuses(resumed) == {"shop/api": "deployed", "shop/web": "deployed"}
    assert {o.digest for o in resumed.outcomes} == {newest}
    assert sorted(shop.updates()) == ["api", "web"]  # one deployment each: never every event in between
    assert shop.runs("shop", "api").endswith(f"@{newest}")


def test_a_rule_or_a_service_pause_covers_only_its_targets(shop: Gated) -> None:
    shop.store.pause(Pause(rule_scope(1), "web freeze", None, shop.now()))

    _, result = shop.arrive("v1")

    assert statuses(result) == {"shop/api": "deployed", "shop/web": "skipped"}
    shop.store.resume([rule_scope(1)])
    shop.store.pause(Pause(service_scope("us-east-1/shop/api"), "api incident", None, shop.now()))
    _, later = shop.arrive("v2")
    assert statuses(later) == {"shop/api": "skipped", "shop/web": "deployed"}
    assert "paused (api incident): service us-east-1/shop/api" in later.outcomes[0].reason


def test_a_pause_is_read_once_per_event_and_a_deploy_without_pauses_costs_one_read(world: World) -> None:
    from collections import Counter

    shop = Gated(world, RULES, {"shop": ["api", "web"]})
    calls: Counter[str] = Counter()
    shop.clients.client("dynamodb").meta.events.register("before-call", lambda model, **_: calls.update([model.name]))

    _, result = shop.arrive("v1")

    assert statuses(result) == {"shop/api": "deployed", "shop/web": "deployed"}
    assert calls["GetItem"] == 1  # the pause item; everything else the deploy writes
