"""Nothing half-done, nothing redeployed that failed, no lock outlived (decision issue, items 7-12)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from ecr_autodeploy.aws.clients import RETRY_CONFIG, Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.aws.ledger import Ledger
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError, DeployError
from ecr_autodeploy.core.installation import InstallOptions, environment
from ecr_autodeploy.core.ledger_items import FUNCTION_TIMEOUT_ENV, LOCK_LEASE_SECONDS, lock_lease
from ecr_autodeploy.core.model import Deployment, ServiceRef
from ecr_autodeploy.core.records import DeploymentRecord, Recorded
from ecr_autodeploy.core.stack import Site, Stack
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import LEDGER_ENV, build_app
from tests.functional.rollouts import TABLE, RolloutCluster, atomic_dynamodb, ledger_table
from tests.functional.test_deploy import _set_pushed_at
from tests.functional.test_track import Recorder
from tests.functional.world import World

RULES = [{"repository": "shop/api", "tags": ["v*"], "targets": [{"cluster": "shop", "service": "api"}]}]
ENV = {LEDGER_ENV: TABLE}


@pytest.fixture
def shop(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    ledger_table()
    atomic_dynamodb(monkeypatch)
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    return world


def app(cluster: Any = None, env: Mapping[str, str] = ENV, notifier: Any = None, **options: Any) -> Dispatcher:
    config = parse_config({"rules": RULES}, "rules.yaml")
    return build_app(config, Clients(region="us-east-1"), env=env, cluster=cluster, notifier=notifier, **options)


def forget_claims() -> None:
    """Drop every claim, as their 7-day TTL would."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    for item in ddb.scan(TableName=TABLE)["Items"]:
        if item["pk"]["S"].startswith("claim#"):
            ddb.delete_item(TableName=TABLE, Key={"pk": item["pk"]})


def test_a_failed_digest_is_not_redeployed_by_reconcile_however_long_ago(shop: World) -> None:
    cluster = RolloutCluster(Clients(region="us-east-1"), breaker=True, breaker_rollback=True)
    d = app(cluster)
    bad = shop.push("shop/api", "v1", "bad")
    d.handle(events.replicate("shop/api", bad, "v1"))
    d.handle(cluster.event(cluster.fail("api"), "FAILED"))
    forget_claims()  # the claim window has passed

    (outcome,) = d.reconciler.run("us-east-1").outcomes

    assert (outcome.status, outcome.digest) == ("skipped", bad)
    assert len(cluster.updates) == 1
    # A newer image arrives: that one deploys.
    good = shop.push("shop/api", "v2", "good")
    _set_pushed_at("shop/api", good, time_after(shop, bad))
    assert [o.status for o in d.reconciler.run("us-east-1").outcomes] == ["deployed"]


def time_after(world: World, digest: str) -> Any:
    from datetime import timedelta

    detail = world.ecr().describe_images(repositoryName="shop/api", imageIds=[{"imageDigest": digest}])
    return detail["imageDetails"][0]["imagePushedAt"] + timedelta(minutes=1)


def test_the_lock_lease_outlives_the_function_and_its_retries() -> None:
    site = Site.of("us-east-1", "123456789012")
    config = parse_config({"rules": RULES}, "rules.yaml")
    for timeout in (30, 120, 900):
        env = environment(config, Stack("ecr-autodeploy", site), InstallOptions(timeout=timeout).timeout)
        assert env[FUNCTION_TIMEOUT_ENV] == str(timeout)
        assert lock_lease(timeout) > timeout
    built = build_app(config, Clients(region="us-east-1"), env={LEDGER_ENV: TABLE, FUNCTION_TIMEOUT_ENV: "300"})
    assert built.deployer.locks is not None
    assert built.deployer.locks.lease == lock_lease(300)
    retries: dict[str, Any] = getattr(RETRY_CONFIG, "retries", None) or {}
    attempts = int(retries.get("max_attempts", 5))
    per_try = float(getattr(RETRY_CONFIG, "connect_timeout", 60)) + float(getattr(RETRY_CONFIG, "read_timeout", 60))
    backoff = sum(min(20, 2**n) for n in range(attempts - 1))  # botocore's standard mode caps each wait at 20 s
    assert attempts * per_try + backoff < LOCK_LEASE_SECONDS


def test_the_same_owner_retaking_its_lock_after_a_lost_reply_is_not_locked_out(shop: World) -> None:
    ledger = Ledger(Clients(region="us-east-1"), TABLE)
    now = time.time()
    assert ledger.lock("us-east-1/shop/api", "me", now, 60).acquired
    # The reply to that write was lost; botocore's retry of the very same write:
    assert ledger.lock("us-east-1/shop/api", "me", now, 60).acquired
    assert not ledger.lock("us-east-1/shop/api", "someone-else", now + 1, 60).acquired


class UpdateFails(Cluster):
    def update(self, ref: ServiceRef, **options: Any) -> Deployment | None:
        raise AwsError("updating service", "InvalidParameterException", "no", resource=ref.key)


def test_a_revision_registered_for_a_failed_update_is_deregistered(shop: World) -> None:
    before = shop.ecs().list_task_definitions(familyPrefix="shop-api", status="ACTIVE")["taskDefinitionArns"]
    with pytest.raises(DeployError):
        app(UpdateFails(Clients(region="us-east-1"))).handle(
            events.replicate("shop/api", shop.push("shop/api", "v1", "one"), "v1")
        )
    after = shop.ecs().list_task_definitions(familyPrefix="shop-api", status="ACTIVE")["taskDefinitionArns"]
    assert after == before


class RecordFails(Ledger):
    def started(
        self,
        record: DeploymentRecord,
        owner: str,
        *,
        claimed: bool,
        release: bool = False,
        supersedes: str | None = None,
    ) -> Recorded:
        if release:  # the deploy's own record fails; a later write of the same record works
            raise AwsError("recording deployment", "InternalServerError", "lost", resource=record.service_key)
        return super().started(record, owner, claimed=claimed, release=release, supersedes=supersedes)


def test_a_failed_rollout_whose_record_was_lost_is_still_reported_and_rolled_back(shop: World) -> None:
    cluster = RolloutCluster(Clients(region="us-east-1"))
    notes = Recorder()
    rules = [{**RULES[0], "rollback": True}]
    config = parse_config({"rules": rules}, "rules.yaml")
    clients = Clients(region="us-east-1")
    d = build_app(config, clients, env=ENV, cluster=cluster, ledger=RecordFails(clients, TABLE), notifier=notes)
    original = shop.running("shop", "api")["taskDefinitionArn"]
    (deployed,) = d.handle(events.replicate("shop/api", shop.push("shop/api", "v1", "one"), "v1")).outcomes
    assert "ledger record failed" in deployed.reason

    (judged,) = d.handle(cluster.event(cluster.fail("api"), "FAILED")).outcomes

    assert (judged.status, judged.rolled_back) == ("rollout_failed", True)
    assert shop.running("shop", "api")["taskDefinitionArn"] == original
    assert "failed" in notes.kinds()


def test_an_ecs_event_for_a_service_that_no_longer_exists_is_ignored_without_a_ledger(world: World) -> None:
    sample = events.deployment_event("ecs-svc/123", "FAILED", service="gone", cluster="nowhere")
    (outcome,) = app(env={}).handle(sample).outcomes
    assert outcome.status == "ignored"


def test_a_dry_run_consults_the_same_claims_as_the_real_run(shop: World) -> None:
    cluster = RolloutCluster(Clients(region="us-east-1"))
    image = shop.push("shop/api", "v1", "one")
    event = events.replicate("shop/api", image, "v1")
    real = app(cluster)
    assert [o.status for o in real.handle(event).outcomes] == ["deployed"]
    shop.ecs().update_service(cluster="shop", service="api", taskDefinition="shop-api:1")  # someone went back

    planned = app(cluster, dry_run=True).handle(event).outcomes
    again = real.handle(event).outcomes
    assert [o.status for o in planned] == [o.status for o in again] == ["duplicate"]


def test_seed_mode_without_a_cluster_regex_deploys_to_the_default_cluster(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.repository("api")
    world.cluster("default")
    world.service("default", "api", {"app": world.image_uri("api", ":latest")})
    monkeypatch.setenv("ECR_SERVICE_REGEX", r"repository/([^/]+)$")
    from ecr_autodeploy.wiring import load_config

    d = build_app(load_config(), Clients(region="us-east-1"), env={})
    (outcome,) = d.handle(events.replicate("api", world.push("api", "latest", "x"), "latest")).outcomes
    assert (outcome.status, outcome.cluster) == ("deployed", "default")
    monkeypatch.setenv("ECR_CLUSTER_REGEX", r"repository/(nomatch)/")
    (skipped,) = (
        build_app(load_config(), Clients(region="us-east-1"), env={})
        .handle(events.replicate("api", world.push("api", "latest", "y"), "latest"))
        .outcomes
    )
    assert skipped.status == "skipped"
    assert "cluster regex" in skipped.reason


def test_reconcile_reports_a_missing_service_and_goes_on(shop: World) -> None:
    notes = Recorder()
    rules = [{**RULES[0], "targets": [{"cluster": "shop", "service": "api"}, {"cluster": "shop", "service": "gone"}]}]
    d = build_app(parse_config({"rules": rules}, "rules.yaml"), Clients(region="us-east-1"), env=ENV, notifier=notes)
    shop.push("shop/api", "v1", "one")

    first = d.reconciler.run("us-east-1")  # no DeployError: a gone service is not a retry
    second = d.reconciler.run("us-east-1")

    assert {o.service: o.status for o in first.outcomes} == {"api": "deployed", "gone": "missing"}
    assert {o.service: o.status for o in second.outcomes}["gone"] == "missing"
    assert notes.kinds().count("missing") == 1  # once a day, like drift
