"""Drift: the newest allowed image against what a service runs (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from ecr_autodeploy.core.drift import assess, newest_allowed
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import ImageInfo
from ecr_autodeploy.core.tags import TagPolicy

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def image(tag: str | None, n: int) -> ImageInfo:
    return ImageInfo("shop/api", "123456789012", f"sha256:{n:064x}", (tag,) if tag else (), T0 + timedelta(minutes=n))


V1, V2, NIGHTLY, BARE = image("v1", 1), image("v2", 2), image("nightly", 3), image(None, 4)
IMAGES = [V1, V2, NIGHTLY, BARE]
V_ONLY = TagPolicy(allow=("v*",))


def target(strategy: str = "pin", tags: TagPolicy = V_ONLY, downgrade: bool = False) -> Target:
    return Target("shop", "api", "us-east-1", None, None, strategy, tags, downgrade, False, 0)  # type: ignore[arg-type]


def td(ref: str) -> dict[str, Any]:
    return {"family": "shop-api", "containerDefinitions": [{"name": "app", "image": f"{HOST}/shop/api{ref}"}]}


def test_newest_allowed_respects_the_tag_policy_and_untagged() -> None:
    assert newest_allowed(IMAGES, V_ONLY) == V2
    assert newest_allowed(IMAGES, TagPolicy()) == NIGHTLY
    assert newest_allowed(IMAGES, TagPolicy(untagged=True)) == BARE
    assert newest_allowed([], V_ONLY) is None


def test_pinned_to_the_newest_is_no_drift() -> None:
    drift = assess(target(), "shop/api", td(f"@{V2.digest}"), IMAGES, V2)
    assert (drift.state, drift.running_digest, drift.containers) == ("no", V2.digest, ("app",))


def test_pinned_to_an_older_image_is_drift() -> None:
    drift = assess(target(), "shop/api", td(f"@{V1.digest}"), IMAGES, V2)
    assert drift.state == "yes"
    assert V1.digest in drift.reason


def test_a_tag_is_judged_by_the_digest_it_points_at() -> None:
    assert assess(target(), "shop/api", td(":v2"), IMAGES, V2).state == "no"
    drift = assess(target(), "shop/api", td(":v1"), IMAGES, V2)
    assert (drift.state, drift.running_tag, drift.running_digest) == ("yes", "v1", V1.digest)
    assert assess(target(), "shop/api", td(":gone"), IMAGES, V2).state == "yes"


def test_running_a_newer_image_is_left_unless_downgrades_are_allowed() -> None:
    assert assess(target(), "shop/api", td(f"@{NIGHTLY.digest}"), IMAGES, V2).state == "newer"
    assert assess(target(downgrade=True), "shop/api", td(f"@{NIGHTLY.digest}"), IMAGES, V2).state == "yes"


def test_force_needs_the_ledger_to_know_what_runs() -> None:
    assert assess(target("force"), "shop/api", td(":latest"), IMAGES, V2).state == "unknown"
    assert assess(target("force"), "shop/api", td(":latest"), IMAGES, V2, last_digest=V2.digest).state == "no"
    assert assess(target("force"), "shop/api", td(":latest"), IMAGES, V2, last_digest=V1.digest).state == "yes"


def test_no_allowed_image_and_no_container_using_the_repository() -> None:
    assert assess(target(), "shop/api", td(":v1"), IMAGES, None).state == "no"
    other = {"family": "x", "containerDefinitions": [{"name": "app", "image": f"{HOST}/other:v1"}]}
    drift = assess(target(), "shop/api", other, IMAGES, V2)
    assert drift.state == "error"
    assert "no container" in drift.reason
