"""What one deploy writes to the ledger, and that every service lock is released, however the deploy ended."""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import MockRawResponse
from moto.core.models import botocore_stubber

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.aws.ledger import Ledger
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError, DeployError, NotFoundError
from ecr_autodeploy.core.ledger_items import LOCK_LEASE_SECONDS
from ecr_autodeploy.core.model import Service, ServiceRef
from ecr_autodeploy.core.records import DeploymentRecord, Recorded
from ecr_autodeploy.engine.deploy import Deployer
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import EngineSettings, build_deployer
from tests.functional.rollouts import TABLE, atomic_dynamodb, ledger_table
from tests.functional.world import World
from tests.reliability.faults import fast_retries

SERVICES = ("api", "web", "worker")
ENV = {"AUTODEPLOY_LEDGER_TABLE": TABLE}


@pytest.fixture
def shop(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    ledger_table()
    atomic_dynamodb(monkeypatch)
    world.repository("shop/api")
    world.cluster("shop")
    for name in SERVICES:
        world.service("shop", name, {"app": world.image_uri("shop/api", ":v0")})
    return world


def deployer(
    services: tuple[str, ...] = ("api",), clients: Clients | None = None, **wiring: Any
) -> tuple[Deployer, Counter[str]]:
    """Return a Deployer wired as the Lambda is, and the count of its DynamoDB calls by operation."""
    clients = clients or Clients(region="us-east-1")
    calls: Counter[str] = Counter()
    clients.client("dynamodb").meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    rules = [
        {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": s} for s in services]}
    ]
    config = parse_config({"rules": rules}, "test-rules")
    cluster, ledger = wiring.pop("cluster", None), wiring.pop("ledger", None)
    settings = EngineSettings(**wiring) if wiring else None
    return build_deployer(config, clients, env=ENV, cluster=cluster, ledger=ledger, settings=settings), calls


def service_item(service: str) -> dict[str, Any]:
    found = boto3.client("dynamodb", region_name="us-east-1").get_item(
        TableName=TABLE, Key={"pk": {"S": f"svc#us-east-1/shop/{service}"}}, ConsistentRead=True
    )
    return {k: next(iter(v.values())) for k, v in found["Item"].items()}


def lock_messages(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    found = [json.loads(r.getMessage()) for r in caplog.records if r.getMessage().startswith("{")]
    return [m for m in found if "lock" in m]


def test_a_pinned_deploy_makes_five_ledger_calls_and_its_record_releases_the_lock(shop: World) -> None:
    digest = shop.push("shop/api", "v1", "one")
    d, calls = deployer()

    (outcome,) = d.handle(events.replicate("shop/api", digest, "v1")).outcomes

    assert outcome.status == "deployed"
    # the pauses (one item); the lock; the claim with the lock re-asserted (one transaction); the lock re-asserted
    # before UpdateService; the deployment record, the claim's confirmation and the service record with the release
    assert calls == Counter({"GetItem": 1, "UpdateItem": 2, "TransactWriteItems": 2})
    item = service_item("api")
    assert "lease_owner" not in item
    assert "lease_until" not in item
    assert (item["deployment_id"], item["state"], item["digest"]) == (outcome.deployment_id, "STARTED", digest)


def test_a_fan_out_releases_every_lock_whether_it_deployed_or_not(shop: World) -> None:
    digest = shop.push("shop/api", "v1", "one")
    event = events.replicate("shop/api", digest, "v1")
    d, calls = deployer(SERVICES)

    assert [o.status for o in d.handle(event).outcomes] == ["deployed"] * 3
    assert calls == Counter({"GetItem": 1, "UpdateItem": 2 * 3, "TransactWriteItems": 2 * 3})  # one pause read
    calls.clear()
    assert [o.status for o in d.handle(event).outcomes] == ["unchanged"] * 3

    assert calls == Counter({"GetItem": 1, "UpdateItem": 3 + 3})  # lock and unlock each: nothing was recorded
    for name in SERVICES:
        assert "lease_owner" not in service_item(name)


class LockTakenDuringRegister(Cluster):
    """Registers so slowly that the lease passes and the next invocation takes the service's lock."""

    def register(self, where: ServiceRef, params: Mapping[str, Any]) -> str:
        lease_passed = time.time() + LOCK_LEASE_SECONDS + 1
        Ledger(Clients(region="us-east-1"), TABLE).lock("us-east-1/shop/api", "next-invocation", lease_passed, 60)
        return super().register(where, params)


def test_a_lease_lost_during_a_stalled_register_aborts_before_update_and_leaves_the_next_holders_lock_alone(
    shop: World, caplog: pytest.LogCaptureFixture
) -> None:
    digest = shop.push("shop/api", "v1", "one")
    caplog.set_level(logging.WARNING, logger="ecr_autodeploy")
    d, _ = deployer(cluster=LockTakenDuringRegister(Clients(region="us-east-1")))
    before = shop.running("shop", "api")["taskDefinitionArn"]

    with pytest.raises(DeployError) as failed:
        d.handle(events.replicate("shop/api", digest, "v1"))

    (outcome,) = failed.value.outcomes
    assert (outcome["status"], outcome["error_code"]) == ("failed", "LockLost")
    # The older image did not win: UpdateService never ran, and the revision it registered is taken back.
    assert shop.running("shop", "api")["taskDefinitionArn"] == before
    assert shop.ecs().list_task_definitions(familyPrefix="shop-api", status="ACTIVE")["taskDefinitionArns"] == [before]
    assert service_item("api")["lease_owner"] == "next-invocation"
    assert lock_messages(caplog) == [{"service": "us-east-1/shop/api", "lock": "lease passed before release"}]


class LoseTheRecordsAnswer:
    """A before-send hook: moto carries out the first write of a record with the lock's release, but its answer is
    a 500, as when the answer is lost on the way back; botocore retries the write."""

    def __init__(self) -> None:
        self.lost = 0

    def __call__(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse | None:
        body = request.body if isinstance(request.body, bytes | str) else b"{}"
        writes = json.loads(body or b"{}").get("TransactItems", [])
        records = [
            w for w in writes if str(w.get("Put", {}).get("Item", {}).get("pk", {}).get("S", "")).startswith("dep#")
        ]
        if self.lost or not event_name.endswith("TransactWriteItems") or not records:
            return None
        self.lost += 1
        if botocore_stubber(event_name=event_name, request=request) is None:
            raise AssertionError("moto did not carry out the write; is mock_aws active?")
        error = json.dumps({"__type": "InternalFailure", "message": "answer lost"})
        headers = {"x-amzn-errortype": "InternalFailure", "content-type": "application/x-amz-json-1.0"}
        return AWSResponse(request.url, 500, headers, MockRawResponse(error))  # type: ignore[arg-type]


def test_a_release_whose_answer_was_lost_is_known_to_have_happened(
    shop: World, caplog: pytest.LogCaptureFixture
) -> None:
    digest = shop.push("shop/api", "v1", "one")
    caplog.set_level(logging.WARNING, logger="ecr_autodeploy")
    clients = Clients(region="us-east-1")
    lose = LoseTheRecordsAnswer()
    clients.client("dynamodb").meta.events.register_first("before-send", lose)
    fast_retries(clients.client("dynamodb"))
    d, calls = deployer(clients=clients)

    (outcome,) = d.handle(events.replicate("shop/api", digest, "v1")).outcomes

    assert outcome.status == "deployed"
    assert lose.lost == 1
    # botocore's retry of the record's transaction found the lock gone (moto, unlike DynamoDB, does not answer a
    # retried client request token from memory); the writes then went one by one: the record, the claim's
    # confirmation, the conditional service write (failed: already ours) and the service write alone.
    assert calls == Counter({"GetItem": 1, "UpdateItem": 2 + 3, "TransactWriteItems": 2, "PutItem": 1})
    item = service_item("api")
    assert "lease_owner" not in item
    assert item["deployment_id"] == outcome.deployment_id
    assert lock_messages(caplog) == []  # no "lease passed before release": our own write had released it


class RecordFails(Ledger):
    """The deployment record cannot be written (the table throttled past botocore's retries)."""

    def started(
        self,
        record: DeploymentRecord,
        owner: str,
        *,
        claimed: bool,
        release: bool = False,
        supersedes: str | None = None,
    ) -> Recorded:
        raise AwsError(
            "recording deployment", "ProvisionedThroughputExceededException", "slow down", resource=record.service_key
        )


def test_a_deploy_whose_record_failed_still_releases_the_lock(shop: World, caplog: pytest.LogCaptureFixture) -> None:
    digest = shop.push("shop/api", "v1", "one")
    caplog.set_level(logging.WARNING, logger="ecr_autodeploy")
    d, _ = deployer(ledger=RecordFails(Clients(region="us-east-1"), TABLE))

    (outcome,) = d.handle(events.replicate("shop/api", digest, "v1")).outcomes

    assert outcome.status == "deployed"
    assert "ledger record failed" in outcome.reason
    assert "lease_owner" not in service_item("api")
    assert lock_messages(caplog) == []


class SecondBatchFails(Cluster):
    """DescribeServices fails for the batch that holds svc11."""

    def services(self, refs: Sequence[ServiceRef]) -> dict[ServiceRef, Service | NotFoundError]:
        if any(r.service == "svc11" for r in refs):
            raise AwsError("describing services", "ThrottlingException", "Rate exceeded", resource="shop")
        return super().services(refs)


def test_services_are_described_ten_a_call_and_a_failed_call_fails_its_whole_cluster(world: World) -> None:
    world.repository("shop/api")
    world.cluster("shop")
    names = [f"svc{i:02d}" for i in range(12)]
    for name in names:
        world.service("shop", name, {"app": world.image_uri("shop/api", ":v0")})
    digest = world.push("shop/api", "v1", "one")
    rules = [{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": n} for n in names]}]
    config = parse_config({"rules": rules}, "test-rules")
    clients = Clients(region="us-east-1")
    calls: Counter[str] = Counter()
    clients.client("ecs").meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    event = events.replicate("shop/api", digest, "v1")

    result = build_deployer(config, clients, env={}).handle(event)

    assert [o.status for o in result.outcomes] == ["deployed"] * 12
    assert calls["DescribeServices"] == 2
    failing = build_deployer(config, clients, env={}, cluster=SecondBatchFails(clients))
    with pytest.raises(DeployError) as failed:
        failing.handle(events.replicate("shop/api", world.push("shop/api", "v2", "two"), "v2"))
    # As when one call described the cluster: its first failing batch fails every target in it.
    assert [o["error_code"] for o in failed.value.outcomes] == ["ThrottlingException"] * 12
