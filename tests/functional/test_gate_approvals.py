"""Approvals: a pending deployment per (rule, image), approved or rejected by a person, superseded by a newer
image, closed by reconcile at its deadline; approve re-judges everything through the same engine."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ecr_autodeploy.core.approvals import approval_id
from ecr_autodeploy.core.errors import ApprovalError
from ecr_autodeploy.core.outcomes import Result
from ecr_autodeploy.engine.approvals import Approvals
from tests.functional.gated import Gated, by_target, statuses
from tests.functional.rollouts import TABLE
from tests.functional.world import World

JO = "arn:aws:iam::123456789012:user/jo"
AL = "arn:aws:sts::123456789012:assumed-role/release/al"
PROD = [{"cluster": "prod", "service": "api"}, {"cluster": "prod", "service": "web"}]


def approval_shop(world: World, **gates: Any) -> Gated:
    rules = [
        {"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "staging", "service": "api"}]},
        {"repository": "shop/api", "tags": ["*"], "approval": "required", "targets": PROD, **gates},
    ]
    return Gated(world, rules, {"staging": ["api"], "prod": ["api", "web"]})


def approve(shop: Gated, wanted: str, caller: str = JO) -> Result:
    desk = Approvals(shop.store, clock=shop.now)
    _, result = desk.approve(wanted, caller, lambda config: shop.wire(config=config).deployer)
    return result


def test_an_image_waits_for_approval_once_and_its_notification_says_how_to_approve(world: World) -> None:
    shop = approval_shop(world)

    digest, arrived = shop.arrive("v1")

    wanted = approval_id(1, "shop/api", digest)
    assert statuses(arrived) == {
        "staging/api": "deployed",
        "prod/api": "pending_approval",
        "prod/web": "pending_approval",
    }
    held = by_target(arrived)["prod/api"]
    assert (held.gate, held.approval) == ("approval", wanted)
    command = f"ecr-autodeploy approve {wanted} --region us-east-1 --name ecr-autodeploy"
    assert command in held.reason
    (asked,) = [m for m in shop.notes.messages if m.kind == "approval"]
    assert asked.command == command
    assert f"Run: {command}" in asked.text()
    assert f"ecr-autodeploy reject {wanted}" in asked.reason
    (pending,) = shop.store.open_approvals()
    assert (pending.id, pending.targets, pending.digest) == (
        wanted,
        ("us-east-1/prod/api", "us-east-1/prod/web"),
        digest,
    )
    assert [p["action"] for p in pending.plans] == ["register", "register"]

    again = shop.reconcile()  # and a redelivery: the same approval, no second request or message

    assert by_target(again)["prod/api"].approval == wanted
    assert statuses(again)["prod/web"] == "pending_approval"
    assert [m.kind for m in shop.notes.messages].count("approval") == 1
    assert "drift" not in shop.notes.kinds()
    assert len(shop.store.open_approvals()) == 1
    assert shop.runs("prod", "api").endswith(":v0")


def test_approving_deploys_through_the_engine_and_records_who_approved(world: World) -> None:
    shop = approval_shop(world)
    digest, _ = shop.arrive("v1")
    wanted = approval_id(1, "shop/api", digest)

    result = approve(shop, wanted)

    assert statuses(result) == {"prod/api": "deployed", "prod/web": "deployed"}
    assert shop.runs("prod", "web").endswith(f"@{digest}")
    (approved,) = shop.store.approvals([wanted]).values()
    assert (approved.state, approved.decided_by) == ("approved", JO)
    assert shop.store.open_approvals() == []
    from ecr_autodeploy.aws.ledger import Ledger

    record = Ledger(shop.clients, TABLE).deployment(str(by_target(result)["prod/api"].deployment_id))
    assert record is not None
    assert record.event_kind == "approval"
    assert (record.event_id or "").endswith(f" by {JO}")
    assert statuses(shop.reconcile()) == {"staging/api": "unchanged", "prod/api": "unchanged", "prod/web": "unchanged"}


def test_only_the_named_approvers_may_approve(world: World) -> None:
    shop = approval_shop(world, approvers=["arn:aws:iam::123456789012:role/release"])
    digest, _ = shop.arrive("v1")
    wanted = approval_id(1, "shop/api", digest)

    with pytest.raises(ApprovalError, match=f"may not approve approval {wanted}: rules\\[1\\] names its approvers"):
        approve(shop, wanted, JO)

    assert shop.runs("prod", "api").endswith(":v0")
    assert statuses(approve(shop, wanted, AL)) == {"prod/api": "deployed", "prod/web": "deployed"}  # a session of it


def test_a_newer_image_supersedes_the_pending_one_and_a_late_approval_of_the_older_deploys_nothing(
    world: World,
) -> None:
    shop = approval_shop(world)
    older, _ = shop.arrive("v1")
    newer, arrived = shop.arrive("v2")
    first, second = approval_id(1, "shop/api", older), approval_id(1, "shop/api", newer)

    assert by_target(arrived)["prod/api"].approval == second
    (superseded,) = shop.store.approvals([first]).values()
    assert (superseded.state, superseded.superseded_by) == ("superseded", second)
    assert [a.id for a in shop.store.open_approvals()] == [second]

    with pytest.raises(ApprovalError, match=f"superseded by approval {second} of a newer image: nothing deployed"):
        approve(shop, first)

    assert shop.runs("prod", "api").endswith(":v0")
    assert statuses(approve(shop, second)) == {"prod/api": "deployed", "prod/web": "deployed"}
    assert shop.runs("prod", "api").endswith(f"@{newer}")


def test_an_older_image_arriving_while_a_newer_one_waits_is_not_proposed(world: World) -> None:
    shop = approval_shop(world)
    older = shop.push("v1")
    newer, _ = shop.arrive("v2")
    from ecr_autodeploy.local import events

    late = shop.app.handle(events.replicate("shop/api", older, "v1"))

    held = by_target(late)["prod/api"]
    assert held.status == "skipped"
    assert f"a newer image shop/api:v2@{newer[:19]} of this rule is pending approval" in held.reason
    assert [a.digest for a in shop.store.open_approvals()] == [newer]


def test_reconcile_closes_an_expired_approval_with_a_message_and_never_proposes_it_again(world: World) -> None:
    shop = approval_shop(world, expires="1h")
    digest, _ = shop.arrive("v1")
    wanted = approval_id(1, "shop/api", digest)
    shop.offset += 3601

    with pytest.raises(ApprovalError, match=f"approval {wanted} of shop/api:v1@.* expired at "):
        approve(shop, wanted)  # past its deadline: closed there and then

    closed = shop.reconcile()

    (expired,) = shop.store.approvals([wanted]).values()
    assert expired.state == "expired"
    assert by_target(closed)["prod/api"].status == "skipped"
    assert f"approval {wanted} was expired" in by_target(closed)["prod/api"].reason
    assert shop.notes.kinds().count("approval") == 1  # the request; this one expired at approve's hand
    assert shop.store.open_approvals() == []


def test_reconcile_closes_what_nobody_decided(world: World) -> None:
    shop = approval_shop(world, expires="1h")
    digest, _ = shop.arrive("v1")
    shop.offset += 3601

    closed = shop.reconcile()

    wanted = approval_id(1, "shop/api", digest)
    assert any(f"approval {wanted} of shop/api:v1@" in note and "expired" in note for note in closed.notes)
    (message,) = [m for m in shop.notes.messages if m.outcome == "approval expired"]
    assert message.kind == "approval"
    assert "not approved by " in message.reason
    assert shop.store.approvals([wanted])[wanted].state == "expired"
    assert by_target(shop.reconcile())["prod/web"].reason.startswith(f"approval {wanted} was expired")


def test_a_rejected_image_is_not_deployed_or_proposed_again(world: World) -> None:
    shop = approval_shop(world)
    digest, _ = shop.arrive("v1")
    wanted = approval_id(1, "shop/api", digest)

    rejected = Approvals(shop.store, clock=shop.now).reject(wanted, JO, "breaks checkout")

    assert (rejected.state, rejected.decided_by) == ("rejected", JO)
    assert (rejected.reason or "").endswith(": breaks checkout")
    later = by_target(shop.reconcile())["prod/api"]
    assert (later.status, later.gate) == ("skipped", "approval")
    assert f"was rejected by {JO}" in later.reason
    assert shop.notes.kinds().count("approval") == 1
    with pytest.raises(ApprovalError, match="is rejected by"):
        approve(shop, wanted)


def test_an_approval_given_outside_the_window_deploys_when_the_window_opens(world: World) -> None:
    shop = approval_shop(world, windows=["Mon-Fri 09:00-16:00 UTC"])
    shop.at(datetime(2026, 1, 5, 20, 0, tzinfo=UTC))
    digest, arrived = shop.arrive("v1")
    assert statuses(arrived)["prod/api"] == "pending_approval"  # asked at once: people approve, the window deploys
    wanted = approval_id(1, "shop/api", digest)

    given = approve(shop, wanted)

    assert statuses(given) == {"prod/api": "deferred", "prod/web": "deferred"}
    assert by_target(given)["prod/api"].gate == "window"
    shop.at(datetime(2026, 1, 6, 9, 30, tzinfo=UTC))
    opened = shop.reconcile()
    assert statuses(opened)["prod/api"] == "deployed"
    assert shop.runs("prod", "api").endswith(f"@{digest}")


def test_without_the_ledger_an_approval_rule_deploys_nothing_and_says_why(world: World) -> None:
    from ecr_autodeploy.aws.clients import Clients
    from ecr_autodeploy.engine.gates import NO_LEDGER_APPROVAL
    from ecr_autodeploy.local import events
    from ecr_autodeploy.wiring import build_app

    shop = approval_shop(world)
    digest = shop.push("v1")
    app = build_app(shop.config, Clients(region="us-east-1"), env={})

    result = app.handle(events.replicate("shop/api", digest, "v1"))

    assert statuses(result) == {"staging/api": "deployed", "prod/api": "skipped", "prod/web": "skipped"}
    assert by_target(result)["prod/api"].reason == NO_LEDGER_APPROVAL
