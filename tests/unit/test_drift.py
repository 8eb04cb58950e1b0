"""Drift: the newest allowed image against what a service runs (pure): order, following, force, bad digests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from ecr_autodeploy.core.drift import assess, newest_allowed
from ecr_autodeploy.core.following import FOLLOWS_TAG
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import ImageInfo, TaskDefinition
from ecr_autodeploy.core.ordering import Ordering
from ecr_autodeploy.core.tags import TagPolicy

HOST = "123456789012.dkr.ecr.us-east-1.amazonaws.com"
T0 = datetime(2026, 1, 1, tzinfo=UTC)
INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


def image(tag: str | None, n: int, *, minutes: int | None = None, media: str | None = None) -> ImageInfo:
    pushed = T0 + timedelta(minutes=n if minutes is None else minutes)
    return ImageInfo("shop/api", "123456789012", f"sha256:{n:064x}", (tag,) if tag else (), pushed, media)


V1, V2, NIGHTLY, BARE = image("v1", 1), image("v2", 2), image("nightly", 3), image(None, 4)
IMAGES = [V1, V2, NIGHTLY, BARE]
V_ONLY = TagPolicy(allow=("v*",))


def target(strategy: str = "pin", tags: TagPolicy = V_ONLY, downgrade: bool = False, **changes: object) -> Target:
    base = Target("shop", "api", "us-east-1", None, None, strategy, tags, downgrade, False, 0)  # type: ignore[arg-type]
    return replace(base, follow=not tags.allow, order=Ordering("push-time", tags), **changes)  # type: ignore[arg-type]


def td(ref: str, follows: str | None = None) -> TaskDefinition:
    body = {"family": "shop-api", "containerDefinitions": [{"name": "app", "image": f"{HOST}/shop/api{ref}"}]}
    tags = ({"key": FOLLOWS_TAG, "value": follows},) if follows else ()
    return TaskDefinition("arn:td/shop-api:1", body, tags)


def test_newest_allowed_respects_the_tag_policy_and_untagged() -> None:
    assert newest_allowed(target(), IMAGES) == V2
    assert newest_allowed(target(tags=TagPolicy(allow=("*",))), IMAGES) == NIGHTLY
    assert newest_allowed(target(tags=TagPolicy(untagged=True)), IMAGES) == BARE
    assert newest_allowed(target(), []) is None


def test_pinned_to_the_newest_is_no_drift() -> None:
    drift = assess(target(), "shop/api", td(f"@{V2.digest}"), IMAGES)
    assert (drift.state, drift.running_digest, drift.containers, drift.newest) == ("no", V2.digest, ("app",), V2)


def test_pinned_to_an_older_image_is_drift() -> None:
    drift = assess(target(), "shop/api", td(f"@{V1.digest}"), IMAGES)
    assert drift.state == "yes"
    assert V1.digest in drift.reason


def test_a_tag_is_judged_by_the_digest_it_points_at() -> None:
    assert assess(target(), "shop/api", td(":v2"), IMAGES).state == "no"
    drift = assess(target(), "shop/api", td(":v1"), IMAGES)
    assert (drift.state, drift.running_tag, drift.running_digest) == ("yes", "v1", V1.digest)
    assert assess(target(), "shop/api", td(":gone"), IMAGES).state == "yes"


def test_running_a_newer_image_is_left_unless_downgrades_are_allowed() -> None:
    assert assess(target(), "shop/api", td(f"@{NIGHTLY.digest}"), IMAGES).state == "newer"
    assert assess(target(downgrade=True), "shop/api", td(f"@{NIGHTLY.digest}"), IMAGES).state == "yes"


def test_a_following_container_drifts_only_to_the_image_carrying_its_tag() -> None:
    stable_old, pr, stable_new = image("stable", 1), image("pr-123", 2), image("stable", 3)
    follows = target(tags=TagPolicy())
    # The tag moved to a newer image: drift to it, never to the PR image pushed in between.
    drift = assess(follows, "shop/api", td(f"@{stable_old.digest}", "app=stable"), [stable_old, pr, stable_new])
    assert (drift.state, drift.newest) == ("yes", stable_new)
    assert (
        assess(follows, "shop/api", td(f"@{stable_new.digest}", "app=stable"), [stable_old, pr, stable_new]).state
        == "no"
    )
    # A tags: allow-list replaces following.
    widened = target(tags=TagPolicy(allow=("*",)))
    assert assess(
        widened, "shop/api", td(f"@{stable_new.digest}", "app=stable"), [pr, stable_new, image("x", 9)]
    ).newest == image("x", 9)


def test_force_is_judged_by_what_its_tasks_run() -> None:
    old, new = image("latest", 1), image("latest", 2)
    forced = target("force", tags=TagPolicy())
    stuck = assess(forced, "shop/api", td(":latest"), [replace(old, tags=()), new], tasks={"app": (old.digest,)})
    assert (stuck.state, stuck.newest) == ("yes", new)
    assert assess(forced, "shop/api", td(":latest"), [new], tasks={"app": (new.digest,)}).state == "no"
    assert assess(forced, "shop/api", td(":latest"), [new]).state == "unknown"
    assert assess(forced, "shop/api", td(":latest"), [new], last_digest=new.digest).state == "no"


def test_equal_ranks_are_never_drift_and_the_rule_s_order_decides() -> None:
    same_second_a, same_second_b = image("v1", 5, minutes=5), image("v2", 6, minutes=5)
    assert assess(target(), "shop/api", td(f"@{same_second_a.digest}"), [same_second_a, same_second_b]).state == "no"
    semver = target(tags=TagPolicy(allow=("semver:>=1.0.0",)))
    semver = replace(semver, order=Ordering("semver", semver.tags))
    v150, v149 = image("1.5.0", 1), image("1.4.9", 2)  # the hotfix of the older line was pushed last
    assert assess(semver, "shop/api", td(f"@{v150.digest}"), [v150, v149]).state == "no"
    assert assess(semver, "shop/api", td(f"@{v149.digest}"), [v150, v149]).newest == v150


def test_a_digest_that_failed_here_stays_failed_until_a_newer_one_arrives() -> None:
    assert assess(target(), "shop/api", td(f"@{V1.digest}"), IMAGES, bad={V2.digest}).state == "bad"
    v3 = image("v3", 7)
    assert assess(target(), "shop/api", td(f"@{V1.digest}"), [*IMAGES, v3], bad={V2.digest}).state == "yes"


def test_a_service_on_an_image_index_does_not_drift_to_a_single_platform_manifest() -> None:
    index, amd64 = image("1.3.0", 1, media=INDEX), image("1.3.0-amd64", 2, media=MANIFEST)
    on_index = td(f"@{index.digest}")
    loose = target(tags=TagPolicy(allow=("1.3.*",)))
    assert assess(loose, "shop/api", on_index, [index, amd64]).state == "no"
    assert assess(replace(loose, allow_single_platform=True), "shop/api", on_index, [index, amd64]).state == "yes"


def test_no_allowed_image_and_no_container_using_the_repository() -> None:
    assert assess(target(), "shop/api", td(":v1"), [NIGHTLY]).state == "no"
    other = TaskDefinition(
        "arn:x", {"family": "x", "containerDefinitions": [{"name": "app", "image": f"{HOST}/other:v1"}]}
    )
    drift = assess(target(), "shop/api", other, IMAGES)
    assert drift.state == "error"
    assert "no container" in drift.reason
