"""Unit tests of the pure gate decisions (core.gates), approvals (core.approvals) and pauses (core.pauses)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from ecr_autodeploy.core.approvals import Approval, approval_command, approval_id
from ecr_autodeploy.core.gate_rules import GateSettings
from ecr_autodeploy.core.gates import (
    REQUEST,
    alarm_hold,
    approval_hold,
    paused_hold,
    promotion_hold,
    wave_holds,
    window_hold,
)
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.outcomes import Hold
from ecr_autodeploy.core.pauses import SCOPE_ALL, Pause, Pauses, rule_scope, service_scope
from ecr_autodeploy.core.records import ServiceItem
from ecr_autodeploy.core.tags import TagPolicy
from ecr_autodeploy.core.windows import parse_window
from ecr_autodeploy.engine.approvals import approval_data, may_decide
from tests.fakes import digest

D = digest(1)
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC).timestamp()  # a Monday, 13:00 in Berlin


def target(service: str = "api", **changes: object) -> Target:
    base = Target("prod", service, "us-east-1", None, None, "pin", TagPolicy(), False, False, 0)
    return replace(base, **changes)  # type: ignore[arg-type]


def item(key: str, digest: str | None = D, state: str | None = "COMPLETED", **changes: object) -> ServiceItem:
    return replace(ServiceItem(key, "ecs-svc/1", digest, state=state), **changes)  # type: ignore[arg-type]


# --- promotion -----------------------------------------------------------------------------------------------------

UPSTREAM = ServiceRef("us-east-1", "staging", "api")


def test_promotion_waits_until_the_digest_completed_upstream() -> None:
    promoted = target(after=UPSTREAM)
    nothing = promotion_hold(promoted, D, None, NOW)
    assert nothing is not None
    assert nothing.status == "deferred"
    assert nothing.gate == "promotion"
    assert "after us-east-1/staging/api: " in nothing.reason
    assert "this tool has no deployment there on record" in nothing.reason
    other = promotion_hold(promoted, D, item(UPSTREAM.key, digest(2)), NOW)
    assert other is not None
    assert f"its last deployment by this tool is of {digest(2)} (COMPLETED)" in other.reason
    rolling = promotion_hold(promoted, D, item(UPSTREAM.key, state="IN_PROGRESS"), NOW)
    assert rolling is not None
    assert "is rolling out there (IN_PROGRESS)" in rolling.reason
    failed = promotion_hold(promoted, D, item(UPSTREAM.key, state="FAILED"), NOW)
    assert failed is not None
    assert "there FAILED: not promoted" in failed.reason
    assert promotion_hold(promoted, D, item(UPSTREAM.key, finished_at=NOW - 1), NOW) is None
    assert promotion_hold(target(), D, None, NOW) is None  # no after: no promotion gate


def test_promotion_soaks_after_completion() -> None:
    soaked = target(after=UPSTREAM, soak=1800.0)
    hold = promotion_hold(soaked, D, item(UPSTREAM.key, finished_at=NOW - 600), NOW)
    assert hold is not None
    assert "soaking 30m until 2026-01-05T12:20:00+00:00" in hold.reason
    assert promotion_hold(soaked, D, item(UPSTREAM.key, finished_at=NOW - 1800), NOW) is None


# --- approval ------------------------------------------------------------------------------------------------------


def approval(state: str = "pending", **changes: object) -> Approval:
    base = Approval(
        "abc123def456", "pending", 1, "shop/api", D, "123456789012", "us-east-1", NOW - 60, NOW + 3600, ("k",)
    )
    return replace(base, state=state, **changes)  # type: ignore[arg-type]


def test_an_image_without_approval_requests_one_and_a_pending_one_waits() -> None:
    assert approval_hold(None, "abc123def456", NOW, "cmd") == REQUEST
    waiting = approval_hold(approval(), "abc123def456", NOW, "ecr-autodeploy approve abc123def456")
    assert waiting == Hold(
        "pending_approval",
        "approval",
        "waiting for approval abc123def456 (until 2026-01-05T13:00:00+00:00): ecr-autodeploy approve abc123def456",
        "abc123def456",
    )
    assert approval_hold(approval("approved"), "abc123def456", NOW, "cmd") is None


@pytest.mark.parametrize(
    ("state", "changes", "reason"),
    [
        ("pending", {"deadline": NOW}, "approval abc123def456 expired at 2026-01-05T12:00:00+00:00 without a decision"),
        ("expired", {"decided_at": NOW}, "approval abc123def456 was expired at 2026-01-05T12:00:00+00:00"),
        (
            "rejected",
            {"decided_by": "arn:aws:iam::1:user/jo", "decided_at": NOW},
            "was rejected by arn:aws:iam::1:user/jo",
        ),
        ("superseded", {"superseded_by": "0123456789ab"}, "was superseded by 0123456789ab: not deployed"),
    ],
)
def test_a_closed_approval_is_skipped_and_never_requested_again(
    state: str, changes: dict[str, object], reason: str
) -> None:
    hold = approval_hold(approval(state, **changes), "abc123def456", NOW, "cmd")
    assert isinstance(hold, Hold)
    assert (hold.status, hold.gate, hold.approval) == ("skipped", "approval", "abc123def456")
    assert reason in hold.reason


def test_the_approval_id_is_one_per_rule_and_image() -> None:
    first = approval_id(1, "shop/api", D)
    assert len(first) == 12
    assert first == approval_id(1, "shop/api", D)
    assert (
        len(
            {first, approval_id(2, "shop/api", D), approval_id(1, "shop/web", D), approval_id(1, "shop/api", digest(2))}
        )
        == 4
    )


def test_the_approve_command_names_region_and_installation_when_needed() -> None:
    assert approval_command("approve", "abc", None, None) == "ecr-autodeploy approve abc"
    assert (
        approval_command("reject", "abc", "team-a", "eu-west-1")
        == "ecr-autodeploy reject abc --region eu-west-1 --name team-a"
    )


@pytest.mark.parametrize(
    ("approvers", "caller", "allowed"),
    [
        ((), "arn:aws:iam::123456789012:user/anyone", True),
        (("arn:aws:iam::123456789012:user/jo",), "arn:aws:iam::123456789012:user/jo", True),
        (("arn:aws:iam::123456789012:user/jo",), "arn:aws:iam::123456789012:user/al", False),
        (("arn:aws:iam::123456789012:role/ops/release",), "arn:aws:sts::123456789012:assumed-role/release/jo", True),
        (("arn:aws:iam::123456789012:role/release",), "arn:aws:sts::123456789012:assumed-role/releases/jo", False),
        (("arn:aws:iam::123456789012:role/release",), "arn:aws:sts::999999999999:assumed-role/release/jo", False),
        (("arn:aws:iam::123456789012:root",), "arn:aws:iam::123456789012:user/al", True),
        (("arn:aws:iam::123456789012:root",), "arn:aws:iam::999999999999:user/al", False),
        (("arn:aws:iam::123456789012:user/jo",), "", False),
    ],
)
def test_who_may_decide(approvers: tuple[str, ...], caller: str, allowed: bool) -> None:
    assert may_decide(approvers, caller) is allowed


def test_an_approval_survives_its_item() -> None:
    given = approval(
        tag="1.5.0",
        image_tags=("1.5.0", "latest"),
        pushed_at=NOW - 100,
        rule_document={"repository": "shop/api", "approval": "required", "targets": [{"cluster": "prod"}]},
        plans=({"target": "k", "action": "register", "images": {"app": "x@y"}},),
        approvers=("arn:aws:iam::123456789012:user/jo",),
        targets=("us-east-1/prod/api", "us-east-1/prod/web"),
    )
    assert Approval.from_item(given.to_item()) == given
    assert given.image.tags == ("1.5.0", "latest")
    assert approval_data(given)["deadline"] == "2026-01-05T13:00:00+00:00"
    assert approval_data(given)["targets"] == ["us-east-1/prod/api", "us-east-1/prod/web"]


# --- windows and alarms --------------------------------------------------------------------------------------------


def test_outside_its_windows_a_deploy_is_deferred_until_the_next_opening() -> None:
    gates = GateSettings(windows=(parse_window("Mon-Fri 09:00-12:00 Europe/Berlin"),))
    hold = window_hold(gates, NOW)
    assert hold is not None
    assert (hold.status, hold.gate) == ("deferred", "window")
    assert "the next opens 2026-01-06T08:00:00+00:00 (Tue 09:00 Europe/Berlin)" in hold.reason
    assert window_hold(gates, NOW - 3 * 3600) is None  # 10:00 in Berlin


def test_an_alarm_in_alarm_or_missing_defers() -> None:
    hold = alarm_hold(["a", "b"], {"a": "OK", "b": "ALARM"}, "us-east-1")
    assert hold == Hold("deferred", "alarm", "alarm b in ALARM (us-east-1): deployed once none of them is")
    missing = alarm_hold(["a", "c"], {"a": "INSUFFICIENT_DATA"}, "us-east-1")
    assert missing is not None
    assert "alarm c does not exist in us-east-1" in missing.reason
    assert alarm_hold(["a"], {"a": "OK"}, "us-east-1") is None


# --- waves ---------------------------------------------------------------------------------------------------------

ORDER = ["a", "b", "c", "d", "e"]


def test_the_first_wave_deploys_and_the_rest_waits_for_it() -> None:
    holds = wave_holds(ORDER, ORDER, {}, D, 2)
    assert set(holds) == {"c", "d", "e"}
    assert holds["c"] == Hold("deferred", "wave", "max_parallel 2: waiting for wave 1 (a, b) to complete")


def test_while_a_wave_rolls_out_nothing_starts_and_after_it_the_next_wave_does() -> None:
    rolling = {"a": item("a", state="COMPLETED"), "b": item("b", state="IN_PROGRESS")}
    holds = wave_holds(ORDER, ["c", "d", "e"], rolling, D, 2)
    assert set(holds) == {"c", "d", "e"}
    assert "waiting for wave 1 (b) to complete" in holds["c"].reason
    done = {"a": item("a"), "b": item("b")}
    after = wave_holds(ORDER, ["c", "d", "e"], done, D, 2)
    assert set(after) == {"e"}
    assert "waiting for wave 2 (c, d) to complete" in after["e"].reason


def test_a_failed_wave_stops_the_rest() -> None:
    failed = {"a": item("a"), "b": item("b", state="FAILED", failed_digests=frozenset({D}))}
    holds = wave_holds(ORDER, ["c", "d", "e"], failed, D, 2)
    assert set(holds) == {"c", "d", "e"}
    assert holds["c"].status == "skipped"
    assert f"the rollout of {D} failed on b: max_parallel stops the rest" in holds["c"].reason
    # Another image is a fresh fan-out.
    assert set(wave_holds(ORDER, ORDER, failed, digest(2), 2)) == {"c", "d", "e"}


# --- pauses --------------------------------------------------------------------------------------------------------


def test_the_narrowest_pause_covers_a_target() -> None:
    pauses = Pauses(
        (
            Pause(SCOPE_ALL, "freeze", "arn:aws:iam::1:user/jo", NOW),
            Pause(rule_scope(0), "rule zero", None, NOW),
            Pause(service_scope("us-east-1/prod/api"), "api only", None, NOW),
        )
    )
    assert pauses.of(target()) is not None
    assert pauses.of(target()).reason == "api only"  # type: ignore[union-attr]
    assert pauses.of(target("web")).reason == "rule zero"  # type: ignore[union-attr]
    assert pauses.of(target("web", rule=3)).reason == "freeze"  # type: ignore[union-attr]
    assert Pauses().of(target()) is None


def test_a_paused_target_is_skipped_saying_why_and_how_to_resume() -> None:
    hold = paused_hold(Pause(service_scope("us-east-1/prod/api"), "incident 42", None, NOW))
    assert hold.status == "skipped"
    assert hold.reason.startswith("paused (incident 42): service us-east-1/prod/api since 2026-01-05T12:00:00+00:00")
    assert "`ecr-autodeploy resume --service prod/api --region us-east-1`" in hold.reason
    assert Pause.from_value("all", Pause("all", "x", "by", NOW).to_value()) == Pause("all", "x", "by", NOW)
    assert Pause.from_value("all", "not json").reason == "not json"
