"""Ledger keys and records (pure)."""

from __future__ import annotations

from ecr_autodeploy.core.ledger import claim_pk, service_key
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.records import DeploymentRecord, ServiceRecord
from ecr_autodeploy.core.tags import TagPolicy


def target(role_arn: str | None = None) -> Target:
    return Target("shop", "api", "eu-west-1", role_arn, None, "pin", TagPolicy(), False, True, 0)


def test_service_keys_tell_accounts_apart() -> None:
    assert service_key(target()) == "eu-west-1/shop/api"
    assert service_key(target("arn:aws:iam::111122223333:role/deployer")) == "111122223333:eu-west-1/shop/api"
    assert claim_pk("eu-west-1/shop/api", "sha256:ab") == "claim#eu-west-1/shop/api#sha256:ab"


def test_a_record_survives_the_round_trip_through_an_item() -> None:
    record = DeploymentRecord(
        "ecs-svc/1", "eu-west-1/shop/api", "eu-west-1", "shop", "api", "td:2", 1700000000.5, rule=3, rollback=True
    )
    item = {**record.to_item(), "pk": "dep#ecs-svc/1", "expires_at": 1}
    assert "reason" not in item  # None fields are left out
    assert DeploymentRecord.from_item(item) == record
    assert record.open
    assert ServiceRecord.from_item("k", {"lease_until": 5, "state": "FAILED"}) == ServiceRecord(
        "k", state="FAILED", lease_until=5.0
    )
