"""The gates' ledger items on moto (pauses, approvals and their index) and the CloudWatch alarms adapter."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import boto3
import pytest

from ecr_autodeploy.aws.alarms import Alarms
from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.pause_book import PauseBook
from ecr_autodeploy.core.approvals import Approval
from ecr_autodeploy.core.pauses import SCOPE_ALL, Pause, rule_scope, service_scope
from tests.fakes import digest
from tests.functional.gated import set_alarm
from tests.functional.rollouts import TABLE, ledger_table
from tests.functional.world import World

NOW = 1_767_000_000.0


@pytest.fixture
def store(world: World) -> PauseBook:
    ledger_table()
    return PauseBook(Clients(region="us-east-1"), TABLE)


def approval(n: int, **changes: object) -> Approval:
    base = Approval(
        f"{n:012x}", "pending", 0, "shop/api", digest(n), "123456789012", "us-east-1", NOW + n, NOW + 3600, ("k",)
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_pauses_are_one_item_read_by_key(store: PauseBook) -> None:
    assert store.pauses().items == ()
    assert store.pause(Pause(SCOPE_ALL, "freeze", "arn:aws:iam::123456789012:user/jo", NOW)) is None
    store.pause(Pause(rule_scope(2), "rule two", None, NOW))
    replaced = store.pause(Pause(SCOPE_ALL, "longer freeze", None, NOW + 1))
    assert replaced == Pause(SCOPE_ALL, "freeze", "arn:aws:iam::123456789012:user/jo", NOW)
    assert [(p.scope, p.reason) for p in store.pauses().items] == [("all", "longer freeze"), ("rule:2", "rule two")]

    lifted = store.resume([rule_scope(2), service_scope("us-east-1/shop/api")])

    assert [p.scope for p in lifted] == ["rule:2"]  # the service was not paused
    assert [p.scope for p in store.pauses().items] == ["all"]
    assert [p.scope for p in store.resume(None)] == ["all"]
    assert store.pauses().items == ()
    assert store.resume(None) == []


def test_an_approval_is_requested_once_decided_once_and_leaves_the_index(store: PauseBook) -> None:
    first, second = approval(1), approval(2)
    assert store.request(first) is None
    assert store.request(second) is None
    assert store.request(replace(first, tag="again")) == first  # the same id: the one already there

    assert [a.id for a in store.open_approvals()] == [first.id, second.id]
    decided = store.decide(first.id, "approved", "arn:aws:iam::123456789012:user/jo", NOW + 5, "approved by jo")
    assert decided is not None
    assert (decided.state, decided.decided_by, decided.decided_at) == (
        "approved",
        "arn:aws:iam::123456789012:user/jo",
        NOW + 5,
    )
    assert store.decide(first.id, "rejected", None, NOW + 6, "too late") is None  # decided once
    assert [a.id for a in store.open_approvals()] == [second.id]
    assert store.approvals([first.id, "missing"])[first.id].state == "approved"


def test_a_stale_id_in_the_index_is_dropped_when_listed(store: PauseBook) -> None:
    store.request(approval(1))
    client = boto3.client("dynamodb", region_name="us-east-1")
    client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": "approval#open"}},
        UpdateExpression="ADD ids :v",
        ExpressionAttributeValues={":v": {"SS": ["000000000bad"]}},
    )
    client.update_item(
        TableName=TABLE,
        Key={"pk": {"S": f"approval#{approval(1).id}"}},
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "state"},
        ExpressionAttributeValues={":s": {"S": "expired"}},
    )

    assert store.open_approvals() == []

    index = client.get_item(TableName=TABLE, Key={"pk": {"S": "approval#open"}})["Item"]
    assert "ids" not in index  # both ids gone: DynamoDB drops an emptied set


def test_requesting_a_closed_approval_again_keeps_it_closed_and_out_of_the_index(store: PauseBook) -> None:
    store.request(approval(1))
    store.decide(approval(1).id, "rejected", "arn:aws:iam::123456789012:user/jo", NOW, "no")

    existing = store.request(approval(1))

    assert existing is not None
    assert existing.state == "rejected"
    assert store.open_approvals() == []


def test_alarm_states_by_name_in_one_call_per_region(world: World) -> None:
    set_alarm("checkout-5xx", "ALARM")
    set_alarm("latency", "OK")
    clients = Clients(region="us-east-1")
    calls: Counter[str] = Counter()
    clients.client("cloudwatch", "us-east-1").meta.events.register(
        "before-call", lambda model, **_: calls.update([model.name])
    )

    found = Alarms(clients).alarm_states("us-east-1", ["checkout-5xx", "latency", "nowhere"])

    assert found == {"checkout-5xx": "ALARM", "latency": "OK"}  # a name that does not exist is left out
    assert calls == Counter({"DescribeAlarms": 1})
    assert Alarms(clients).alarm_states("eu-west-1", ["checkout-5xx"]) == {}  # alarms are per region
