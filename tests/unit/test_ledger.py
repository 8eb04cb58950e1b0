"""Ledger keys and records (pure)."""

from __future__ import annotations

from ecr_autodeploy.core.ledger_items import claim_pk
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import Provenance, ServiceRef
from ecr_autodeploy.core.records import DeploymentRecord, ServiceItem
from ecr_autodeploy.core.tags import TagPolicy


def target(role_arn: str | None = None) -> Target:
    return Target("shop", "api", "eu-west-1", role_arn, None, "pin", TagPolicy(), False, True, 0)


def test_service_keys_tell_accounts_apart() -> None:
    assert target().ref.ledger_key == "eu-west-1/shop/api"
    assert target("arn:aws:iam::111122223333:role/deployer").ref.ledger_key == "111122223333:eu-west-1/shop/api"
    assert claim_pk("eu-west-1/shop/api", "sha256:ab") == "claim#eu-west-1/shop/api#sha256:ab"


def test_a_record_survives_the_round_trip_through_an_item() -> None:
    record = DeploymentRecord(
        "ecs-svc/1",
        ServiceRef("eu-west-1", "shop", "api"),
        "td:2",
        1700000000.5,
        Provenance("shop/api", "v1", "sha256:ab"),
        rule=3,
        rollback=True,
    )
    item = {**record.to_item(), "pk": "dep#ecs-svc/1", "expires_at": 1}
    assert "reason" not in item  # None fields are left out
    assert DeploymentRecord.from_item(item) == record
    assert record.open
    assert ServiceItem.from_item("k", {"lease_until": 5, "state": "FAILED"}) == ServiceItem(
        "k", state="FAILED", lease_until=5.0
    )
