"""Promotion between environments: production takes only a digest whose rollout COMPLETED on staging (and soaked)."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.errors import AwsError, DeployError
from ecr_autodeploy.core.model import Deployment, ServiceRef
from tests.functional.gated import Gated, by_target, statuses
from tests.functional.rollouts import RolloutCluster
from tests.functional.world import World


def rules(**after: Any) -> list[dict[str, Any]]:
    production = {"cluster": "prod", "service": "api", "after": {"cluster": "staging", "service": "api"}, **after}
    return [
        {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "staging", "service": "api"}]},
        {"repository": "shop/api", "tags": ["*"], "targets": [production]},
    ]


def test_one_event_reaches_staging_and_its_completion_promotes_it_to_production(world: World) -> None:
    shop = Gated(world, rules(), {"staging": ["api"], "prod": ["api"]})

    digest, arrived = shop.arrive("v1")

    assert statuses(arrived) == {"staging/api": "deployed", "prod/api": "deferred"}
    held = by_target(arrived)["prod/api"]
    assert held.gate == "promotion"
    # Judged in the same decision as staging's deploy: staging had no record of it yet.
    assert held.reason.startswith(f"after us-east-1/staging/api: {digest} has not been deployed there")
    assert by_target(shop.reconcile())["prod/api"].reason.startswith(
        f"after us-east-1/staging/api: {digest} is rolling out there (STARTED)"
    )

    completed = shop.complete("api", "staging")

    assert statuses(completed) == {"staging/api": "completed", "prod/api": "deployed"}
    assert by_target(completed)["prod/api"].digest == digest
    assert shop.runs("prod", "api").endswith(f"@{digest}")
    assert [o.status for o in shop.complete("api", "prod").outcomes] == ["completed"]
    assert shop.notes.kinds() == ["started", "completed", "started", "completed"]


def test_a_redelivered_completion_promotes_once(world: World) -> None:
    shop = Gated(world, rules(), {"staging": ["api"], "prod": ["api"]})
    shop.arrive("v1")
    deployment = shop.cluster.complete("api", "staging")
    event = shop.cluster.event(deployment, "COMPLETED", "api", "staging")

    first = shop.app.handle(event)
    again = shop.app.handle(event)

    assert statuses(first) == {"staging/api": "completed", "prod/api": "deployed"}
    assert statuses(again) == {"staging/api": "ignored"}  # production runs it already: nothing to say
    assert shop.updates() == ["api", "api"]  # staging, then production: once


def test_a_soak_defers_the_promotion_until_reconcile_finds_it_soaked(world: World) -> None:
    shop = Gated(world, rules(soak="30m"), {"staging": ["api"], "prod": ["api"]})
    digest, _ = shop.arrive("v1")

    completed = shop.complete("api", "staging")

    held = by_target(completed)["prod/api"]
    assert (held.status, held.gate) == ("deferred", "promotion")
    assert f"{digest} COMPLETED there at " in held.reason
    assert "soaking 30m until " in held.reason
    assert by_target(shop.reconcile())["prod/api"].status == "deferred"
    shop.offset += 31 * 60
    soaked = shop.reconcile()
    assert by_target(soaked)["prod/api"].status == "deployed"
    assert shop.runs("prod", "api").endswith(f"@{digest}")


def test_a_digest_that_failed_on_staging_is_never_promoted(world: World) -> None:
    shop = Gated(world, rules(), {"staging": ["api"], "prod": ["api"]})
    digest, _ = shop.arrive("v1")

    failed = shop.fail("api", "staging")

    assert statuses(failed) == {"staging/api": "rollout_failed"}
    later = by_target(shop.reconcile())["prod/api"]
    assert later.status == "deferred"
    assert f"the rollout of {digest} there FAILED: not promoted" in later.reason
    assert shop.runs("prod", "api").endswith(":v0")


class FailsOnce(RolloutCluster):
    """Refuses the first UpdateService of production, as a throttled or briefly failing ECS would."""

    failed = False

    def update(self, ref: ServiceRef, **kwargs: Any) -> Deployment | None:
        if ref.cluster == "prod" and not self.failed:
            self.failed = True
            raise AwsError("updating service", "ThrottlingException", "Rate exceeded", resource=ref.key)
        return super().update(ref, **kwargs)


def test_a_promotion_that_failed_to_start_is_started_when_the_completion_is_retried(world: World) -> None:
    shop = Gated(world, rules(), {"staging": ["api"], "prod": ["api"]})
    shop.cluster = FailsOnce(shop.clients)
    shop.app = shop.wire()
    digest, _ = shop.arrive("v1")
    deployment = shop.cluster.complete("api", "staging")
    event = shop.cluster.event(deployment, "COMPLETED", "api", "staging")

    with pytest.raises(DeployError) as failed:
        shop.app.handle(event)  # Lambda retries the event

    assert {o["status"] for o in failed.value.outcomes} == {"completed", "failed"}
    retried = shop.app.handle(event)
    assert statuses(retried) == {"staging/api": "ignored", "prod/api": "deployed"}
    assert shop.runs("prod", "api").endswith(f"@{digest}")
