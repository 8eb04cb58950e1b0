"""One deployment per (service, digest), in order, serialised per service: the Deployer with the DynamoDB ledger."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.aws.ledger import Ledger
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError, DeployError
from ecr_autodeploy.core.model import Deployment, ServiceRef
from ecr_autodeploy.core.outcomes import Result
from ecr_autodeploy.engine.deploy import LEDGER_OFF_NOTE, Deployer
from ecr_autodeploy.engine.ports import ClusterPort
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import EngineSettings, build_deployer
from tests.functional.rollouts import TABLE, RolloutCluster, atomic_dynamodb, ledger_table
from tests.functional.test_deploy import _set_pushed_at
from tests.functional.world import World

RULE = {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}
ENV = {"AUTODEPLOY_LEDGER_TABLE": TABLE}


@pytest.fixture
def ledger_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    ledger_table()
    atomic_dynamodb(monkeypatch)
    world.repository("shop/api")
    world.repository("shop/sidecar")
    world.cluster("shop")
    world.service(
        "shop", "api", {"app": world.image_uri("shop/api", ":latest"), "envoy": world.image_uri("shop/sidecar", ":1.0")}
    )
    return world


def make(
    rules: Sequence[Mapping[str, Any]] = (RULE,),
    *,
    env: Mapping[str, str] = ENV,
    cluster: Callable[[Clients], ClusterPort] | None = None,
    **options: Any,
) -> Deployer:
    """A Deployer as one Lambda container would build it (its own clients); options as Deployer takes them."""
    clients = Clients(region="us-east-1")
    config = parse_config({"rules": list(rules)}, "test-rules")
    settings = EngineSettings(**options) if options else None
    return build_deployer(config, clients, env=env, cluster=cluster(clients) if cluster else None, settings=settings)


def in_threads(n: int, work: Callable[[int], Result]) -> list[Result | BaseException]:
    """Run work(i) in n threads released together; return each result or exception."""
    barrier = threading.Barrier(n)
    results: list[Result | BaseException] = [RuntimeError("not run")] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except BaseException as err:  # noqa: BLE001 - the test inspects whatever each thread ended with
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def statuses(results: Sequence[Result | BaseException]) -> list[str]:
    out: list[str] = []
    for r in results:
        assert isinstance(r, Result), r
        out.extend(o.status for o in r.outcomes)
    return sorted(out)


class SlowRegister(Cluster):
    """Widens the window between reading a task definition and updating the service, as a slow API would."""

    def register(self, where: ServiceRef, params: Mapping[str, Any]) -> str:
        time.sleep(0.2)
        return super().register(where, params)


class FailingUpdate(RolloutCluster):
    """UpdateService fails the first `failures` times."""

    failures = 1

    def update(self, *args: Any, **kwargs: Any) -> Deployment | None:
        if self.failures > 0:
            self.failures -= 1
            raise AwsError("updating service", "ThrottlingException", "Rate exceeded", resource="shop/api")
        return super().update(*args, **kwargs)


def test_five_concurrent_deliveries_of_one_event_register_one_revision(ledger_world: World) -> None:
    digest = ledger_world.push("shop/api", "v1", "one")
    event = events.replicate("shop/api", digest, "v1")
    before = ledger_world.revisions("shop-api")

    results = in_threads(5, lambda i: make().handle(event))

    assert statuses(results) == ["deployed", "unchanged", "unchanged", "unchanged", "unchanged"]
    assert ledger_world.revisions("shop-api") == before + 1
    assert ledger_world.images_of("shop", "api")["app"].endswith(f"@{digest}")


def test_five_concurrent_deliveries_with_force_start_one_deployment(ledger_world: World) -> None:
    digest = ledger_world.push("shop/api", "latest", "forced")
    event = events.push("shop/api", digest, "latest")
    clusters: list[RolloutCluster] = []

    def cluster(clients: Clients) -> RolloutCluster:
        clusters.append(RolloutCluster(clients))
        return clusters[-1]

    rule = {**RULE, "strategy": "force"}
    results = in_threads(5, lambda i: make([rule], cluster=cluster).handle(event))

    assert statuses(results).count("deployed") == 1
    assert sum(len(c.updates) for c in clusters) == 1
    others = [o for r in results if isinstance(r, Result) for o in r.outcomes if o.status != "deployed"]
    # Whoever came second saw the first deployment: in the ledger (unchanged) or its claim (duplicate).
    assert {o.status for o in others} <= {"unchanged", "duplicate"}


def test_a_redelivery_after_the_service_moved_on_is_a_duplicate_not_a_second_deployment(ledger_world: World) -> None:
    old = ledger_world.push("shop/api", "v1", "old")
    new = ledger_world.push("shop/api", "v2", "new")
    now = datetime.now(UTC)
    _set_pushed_at("shop/api", old, now - timedelta(hours=1))
    _set_pushed_at("shop/api", new, now)
    d = make([{**RULE, "allow_downgrade": True}])
    first = events.replicate("shop/api", old, "v1")

    assert [o.status for o in d.handle(first).outcomes] == ["deployed"]
    assert [o.status for o in d.handle(events.replicate("shop/api", new, "v2")).outcomes] == ["deployed"]
    again = d.handle(first)  # Lambda delivered the first event once more; the rule would allow the downgrade

    (outcome,) = again.outcomes
    assert outcome.status == "duplicate"
    assert first["id"] in outcome.reason
    assert ledger_world.images_of("shop", "api")["app"].endswith(f"@{new}")


def test_force_does_not_redeploy_an_older_image_arriving_late(ledger_world: World) -> None:
    old = ledger_world.push("shop/api", "latest", "old")
    ledger_world.push("shop/api", "v1", "old")  # the same image tagged v1 too, so it stays when :latest moves
    new = ledger_world.push("shop/api", "latest", "new")
    now = datetime.now(UTC)
    _set_pushed_at("shop/api", old, now - timedelta(hours=1))
    _set_pushed_at("shop/api", new, now)
    cluster = RolloutCluster(Clients(region="us-east-1"))
    d = make([{**RULE, "strategy": "force"}], cluster=lambda _: cluster)

    assert [o.status for o in d.handle(events.push("shop/api", new, "latest")).outcomes] == ["deployed"]
    late = d.handle(events.push("shop/api", old, "latest"))

    (outcome,) = late.outcomes
    assert outcome.status == "skipped"
    # ECR no longer tags the old digest :latest, so a new deployment would not run it.
    assert "force re-pulls 'latest'" in outcome.reason
    assert len(cluster.updates) == 1


def test_concurrent_older_and_newer_images_end_on_the_newer(ledger_world: World) -> None:
    old = ledger_world.push("shop/api", "v1", "old")
    new = ledger_world.push("shop/api", "v2", "new")
    now = datetime.now(UTC)
    _set_pushed_at("shop/api", old, now - timedelta(hours=1))
    _set_pushed_at("shop/api", new, now)
    arriving = [events.replicate("shop/api", new, "v2"), events.replicate("shop/api", old, "v1")]

    results = in_threads(2, lambda i: make(cluster=SlowRegister).handle(arriving[i]))

    assert ledger_world.images_of("shop", "api")["app"].endswith(f"@{new}")
    assert "deployed" in statuses(results)


def test_two_repositories_of_one_service_deployed_at_once_both_land(ledger_world: World) -> None:
    app = ledger_world.push("shop/api", "v1", "app")
    sidecar = ledger_world.push("shop/sidecar", "1.1", "sidecar")
    rules = [RULE, {"repository": "shop/sidecar", "tags": ["*"], "targets": [{"cluster": "shop", "service": "api"}]}]
    arriving = [events.replicate("shop/api", app, "v1"), events.replicate("shop/sidecar", sidecar, "1.1")]

    in_threads(2, lambda i: make(rules, cluster=SlowRegister).handle(arriving[i]))

    # Without the per-service lock both read the same revision and the second update drops the first's image.
    images = ledger_world.images_of("shop", "api")
    assert images["app"].endswith(f"@{app}")
    assert images["envoy"].endswith(f"@{sidecar}")


def test_a_service_locked_by_a_dead_invocation_waits_then_fails_until_the_lease_passes(ledger_world: World) -> None:
    digest = ledger_world.push("shop/api", "v1", "one")
    target_key = "us-east-1/shop/api"
    Ledger(Clients(region="us-east-1"), TABLE).lock(target_key, "crashed-invocation", time.time(), 60)
    event = events.replicate("shop/api", digest, "v1")

    with pytest.raises(DeployError) as locked:
        make(lock_wait=0.2).handle(event)

    (outcome,) = locked.value.outcomes
    assert outcome["error_code"] == "ServiceLocked"
    assert "being deployed by another invocation" in outcome["reason"]
    later = make(clock=lambda: time.time() + 61)
    assert [o.status for o in later.handle(event).outcomes] == ["deployed"]


def test_a_deploy_that_failed_to_start_releases_its_claim_so_the_retry_deploys(ledger_world: World) -> None:
    digest = ledger_world.push("shop/api", "latest", "one")
    event = events.push("shop/api", digest, "latest")
    cluster = FailingUpdate(Clients(region="us-east-1"))
    d = make([{**RULE, "strategy": "force"}], cluster=lambda _: cluster)

    with pytest.raises(DeployError) as failed:
        d.handle(event)
    assert failed.value.outcomes[0]["error_code"] == "ThrottlingException"

    assert [o.status for o in d.handle(event).outcomes] == ["deployed"]


def test_a_claim_whose_claimer_died_blocks_until_its_lease_passes(ledger_world: World) -> None:
    digest = ledger_world.push("shop/api", "latest", "one")
    key = "us-east-1/shop/api"
    now = time.time()
    Ledger(Clients(region="us-east-1"), TABLE).claim(key, digest, "evt-crashed", "dead", now, 60)
    event = events.push("shop/api", digest, "latest")
    rule = {**RULE, "strategy": "force"}

    with pytest.raises(DeployError) as claimed:
        make([rule], cluster=RolloutCluster).handle(event)
    assert claimed.value.outcomes[0]["error_code"] == "ClaimInProgress"

    retried = make([rule], cluster=RolloutCluster, clock=lambda: now + 61).handle(event)
    assert [o.status for o in retried.outcomes] == ["deployed"]


def test_a_record_judged_meanwhile_is_not_superseded_and_the_new_deployment_is_recorded_all_the_same(
    ledger_world: World,
) -> None:
    first = ledger_world.push("shop/api", "v1", "one")
    second = ledger_world.push("shop/api", "v2", "two")
    d = make(cluster=RolloutCluster)
    ledger = Ledger(Clients(region="us-east-1"), TABLE)
    (a,) = d.handle(events.replicate("shop/api", first, "v1")).outcomes
    assert a.deployment_id
    # Its ECS event judged it after the service's item was read: the SUPERSEDED mark must not overwrite that.
    assert ledger.finish(a.deployment_id, "COMPLETED", "done", time.time(), service=False) is not None

    (b,) = d.handle(events.replicate("shop/api", second, "v2")).outcomes

    assert b.status == "deployed"
    assert "supersedes" not in b.reason
    older = ledger.deployment(a.deployment_id)
    assert older is not None
    assert (older.state, older.superseded_by) == ("COMPLETED", None)
    assert b.deployment_id
    newer = ledger.deployment(b.deployment_id)
    assert newer is not None
    assert (newer.state, newer.image.digest) == ("STARTED", second)
    (item,) = ledger.services(["us-east-1/shop/api"]).values()
    assert (item.deployment_id, item.lease_owner) == (b.deployment_id, None)


def test_a_newer_deployment_supersedes_the_open_record_of_the_older(ledger_world: World) -> None:
    first = ledger_world.push("shop/api", "v1", "one")
    second = ledger_world.push("shop/api", "v2", "two")
    d = make(cluster=RolloutCluster)
    ledger = Ledger(Clients(region="us-east-1"), TABLE)

    (a,) = d.handle(events.replicate("shop/api", first, "v1")).outcomes
    (b,) = d.handle(events.replicate("shop/api", second, "v2")).outcomes

    assert a.deployment_id
    assert b.deployment_id
    assert f"supersedes deployment {a.deployment_id}" in b.reason
    older = ledger.deployment(a.deployment_id)
    assert older is not None
    assert (older.state, older.superseded_by) == ("SUPERSEDED", b.deployment_id)
    newer = ledger.deployment(b.deployment_id)
    assert newer is not None
    assert (newer.state, newer.image.digest, newer.previous_task_definition) == ("STARTED", second, a.task_definition)
    record = ledger.services(["us-east-1/shop/api"])
    assert record["us-east-1/shop/api"].deployment_id == b.deployment_id


def test_without_the_ledger_every_result_says_so(ledger_world: World, caplog: pytest.LogCaptureFixture) -> None:
    digest = ledger_world.push("shop/api", "v1", "one")
    caplog.set_level(logging.INFO, logger="ecr_autodeploy")

    result = make(env={}).handle(events.replicate("shop/api", digest, "v1"))

    assert result.notes == (LEDGER_OFF_NOTE,)
    assert result.to_dict()["notes"] == [LEDGER_OFF_NOTE]
    assert any(
        json.loads(r.getMessage()).get("note") == LEDGER_OFF_NOTE
        for r in caplog.records
        if r.getMessage().startswith("{")
    )
    assert make().handle(events.replicate("shop/api", digest, "v1")).notes == ()
