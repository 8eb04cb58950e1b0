"""When to roll back: the rule asks, ECS has not and will not, the service has not moved on (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.rollout import decide_rollback

OURS, PREVIOUS, NEWER = "td/app:3", "td/app:2", "td/app:4"


def decide(**changes: Any) -> tuple[bool, str]:
    args: dict[str, Any] = {
        "wanted": True,
        "state": "FAILED",
        "ecs_rolled_back": False,
        "breaker_rollback": False,
        "ours": OURS,
        "current": OURS,
        "previous": PREVIOUS,
    }
    args.update(changes)
    decision = decide_rollback(**args)
    return decision.roll_back, decision.reason


def test_rolls_back_a_failed_or_timed_out_deployment() -> None:
    assert decide() == (True, "rolling back to app:2")
    assert decide(state="TIMEOUT")[0] is True


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"state": "COMPLETED"}, "COMPLETED"),
        ({"ecs_rolled_back": True}, "ECS rolled the deployment back"),
        ({"breaker_rollback": True}, "left to ECS"),
        ({"wanted": False}, "rollback: true"),
        ({"previous": None}, "not known"),
        ({"previous": OURS}, "force"),
        ({"current": NEWER}, "moved on to app:4"),
    ],
)
def test_leaves_it(changes: dict[str, Any], words: str) -> None:
    rolled, reason = decide(**changes)
    assert rolled is False
    assert words in reason
