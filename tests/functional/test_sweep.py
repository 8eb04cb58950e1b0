"""Reconcile's sweep of open deployments, and the ledger's batch read behind it (BatchGetItem, 100 keys a call)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ledger import Ledger
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.records import DeploymentRecord
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.engine.reconcile import Reconciler
from ecr_autodeploy.wiring import build_app
from tests.functional.rollouts import TABLE, ledger_table
from tests.functional.world import World

SERVICES = ("api", "worker", "cron")


@pytest.fixture
def fleet(world: World) -> World:
    ledger_table()
    world.repository("shop/api")
    world.cluster("shop")
    for name in SERVICES:
        world.service("shop", name, {"app": world.image_uri("shop/api", ":v0")})
    world.push("shop/api", "v1", "one")
    return world


def counted(clients: Clients, *services: str) -> Counter[str]:
    """Return a counter of every call the clients of these services make from now on."""
    calls: Counter[str] = Counter()
    for service in services:
        client = clients.client(service)
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def wired(clients: Clients) -> Dispatcher:
    rules = [
        {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": n} for n in SERVICES]}
    ]
    config = parse_config({"rules": rules}, "test-rules")
    return build_app(config, clients, env={"AUTODEPLOY_LEDGER_TABLE": TABLE})


def record(n: int) -> DeploymentRecord:
    return DeploymentRecord(f"ecs-svc/{n}", ServiceRef("us-east-1", "shop", f"s{n}"), "td:1", 1700000000.0)


def item(n: int) -> dict[str, Any]:
    """Return record n as the ledger stores it."""
    values = {"pk": f"dep#ecs-svc/{n}", **record(n).to_item()}
    return {k: attribute(v) for k, v in values.items()}


def attribute(value: object) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    return {"N": repr(value)} if isinstance(value, float) else {"S": str(value)}


def test_the_sweep_reads_every_open_deployment_record_in_one_call(fleet: World) -> None:
    clients = Clients(region="us-east-1")
    app = wired(clients)
    started = app.reconciler.run("us-east-1")
    assert {o.status for o in started.outcomes} == {"deployed"}
    calls = counted(clients, "dynamodb")

    swept = app.reconciler.run("us-east-1")

    # moto never finishes a rollout: every record is still open, and judged in progress.
    assert sorted(o.service or "" for o in swept.outcomes if o.status == "in_progress") == sorted(SERVICES)
    assert {o.deployment_id for o in swept.outcomes if o.status == "in_progress"} == {
        o.deployment_id for o in started.outcomes
    }
    assert calls == {"BatchGetItem": 2}  # the services' items, then the open deployments' records


def test_deployment_records_are_read_100_keys_a_call(world: World) -> None:
    ledger_table()
    table = boto3.client("dynamodb", region_name="us-east-1")
    for n in range(150):
        table.put_item(TableName=TABLE, Item=item(n))
    clients = Clients(region="us-east-1")
    calls = counted(clients, "dynamodb")

    found = Ledger(clients, TABLE).deployments([*(f"ecs-svc/{n}" for n in range(150)), "ecs-svc/missing", "ecs-svc/7"])

    assert found == {f"ecs-svc/{n}": record(n) for n in range(150)}
    assert calls == {"BatchGetItem": 2}


def key(n: int) -> dict[str, Any]:
    return {"pk": {"S": f"dep#ecs-svc/{n}"}}


def request(keys: Iterable[dict[str, Any]]) -> dict[str, Any]:
    return {"RequestItems": {TABLE: {"Keys": list(keys), "ConsistentRead": True}}}


def test_unprocessed_keys_are_asked_for_again() -> None:
    clients = Clients(region="us-east-1")
    with Stubber(clients.client("dynamodb")) as stub:
        stub.add_response(
            "batch_get_item",
            {"Responses": {TABLE: [item(1)]}, "UnprocessedKeys": {TABLE: {"Keys": [key(2)], "ConsistentRead": True}}},
            request([key(1), key(2)]),
        )
        stub.add_response("batch_get_item", {"Responses": {TABLE: [item(2)]}}, request([key(2)]))

        found = Ledger(clients, TABLE).deployments(["ecs-svc/1", "ecs-svc/2"])

        stub.assert_no_pending_responses()
    assert found == {"ecs-svc/1": record(1), "ecs-svc/2": record(2)}


def test_keys_left_unprocessed_after_ten_tries_fail_naming_the_table() -> None:
    clients = Clients(region="us-east-1")
    with Stubber(clients.client("dynamodb")) as stub:
        for _ in range(10):
            stub.add_response(
                "batch_get_item",
                {"Responses": {TABLE: []}, "UnprocessedKeys": {TABLE: {"Keys": [key(1)], "ConsistentRead": True}}},
                request([key(1)]),
            )

        with pytest.raises(AwsError) as failed:
            Ledger(clients, TABLE).deployments(["ecs-svc/1"])

        stub.assert_no_pending_responses()
    assert failed.value.code == "UnprocessedKeys"
    assert str(failed.value) == (
        f"reading deployment records {TABLE}: UnprocessedKeys: 1 keys still unprocessed after 10 tries"
    )


class FailingReads(Ledger):
    """The real ledger, except that reading deployment records fails (throttled beyond the SDK's retries)."""

    def deployments(self, ids: Iterable[str]) -> dict[str, DeploymentRecord]:
        raise AwsError("reading deployment records", "ProvisionedThroughputExceededException", "slow down")


def test_a_failed_read_of_the_records_is_logged_and_swept_by_the_next_run(
    fleet: World, caplog: pytest.LogCaptureFixture
) -> None:
    clients = Clients(region="us-east-1")
    app = wired(clients)
    app.reconciler.run("us-east-1")
    ledger = FailingReads(clients, TABLE)
    deployer = app.deployer
    deployer.ledger = ledger
    reconciler = Reconciler(deployer, app.reconciler.survey, app.reconciler.tracker)

    with caplog.at_level(logging.ERROR, logger="ecr_autodeploy"):
        result = reconciler.run("us-east-1")

    assert {o.status for o in result.outcomes} == {"unchanged"}  # nothing judged, nothing failed
    assert "ProvisionedThroughputExceededException" in caplog.text
    assert '"deployments": 3' in caplog.text
    deployer.ledger = Ledger(clients, TABLE)
    assert {o.status for o in app.reconciler.run("us-east-1").outcomes} == {"unchanged", "in_progress"}
