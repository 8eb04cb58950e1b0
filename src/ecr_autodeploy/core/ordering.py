"""Ordering: which of two images is newer, so a late event never replaces what a service runs with an older one.

A rule chooses how images are ordered (`order:`, the image-update policies of Flux and Argo CD Image Updater):

    semver        by the highest semantic version among the image's allowed tags (default under a semver: policy)
    push-time     by the time ECR says the image was pushed (the default otherwise)
    numeric       by the highest whole-number tag
    alphabetical  by the last tag in alphabetical order

An image with no rank (no push time, no version tag) sorts oldest and is never "newer". Equal ranks are never
"newer" either: two images pushed in the same second are equals, so a service running one of them does not drift
to the other. When one image must be chosen among equals (the newest of a listing), the higher digest wins, so
every caller breaks a tie the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field
from typing import TYPE_CHECKING, Literal

from ecr_autodeploy.core.tags import SemVer, TagPolicy
from ecr_autodeploy.core.timefmt import epoch, iso
from ecr_autodeploy.core.values import frozen

if TYPE_CHECKING:
    from ecr_autodeploy.core.model import ImageInfo

OrderKind = Literal["semver", "push-time", "numeric", "alphabetical"]
ORDER_KINDS: tuple[OrderKind, ...] = ("semver", "push-time", "numeric", "alphabetical")
DOWNGRADE_HINT = "set allow_downgrade: true to deploy older images"
Rank = tuple[object, ...]
_NONE: Rank = ()  # sorts before every real rank


@frozen
class Ordering:
    """How one rule orders images: its order kind and the tag policy whose tags count."""

    kind: OrderKind = "push-time"
    policy: TagPolicy = field(default_factory=TagPolicy)

    def rank(self, image: ImageInfo) -> Rank:
        """Return the image's rank; a larger rank is newer, () means unknown (oldest)."""
        if self.kind == "push-time":
            return (epoch(image.pushed_at),) if image.pushed_at is not None else _NONE
        tags = [t for t in image.tags if self.policy.allows(t)]
        if self.kind == "semver":
            versions = [v.key for v in map(SemVer.parse, tags) if v is not None]
            return (max(versions),) if versions else _NONE
        if self.kind == "numeric":
            numbers = [int(t) for t in tags if t.isdigit()]
            return (max(numbers),) if numbers else _NONE
        return (max(tags),) if tags else _NONE

    def newer(self, a: ImageInfo, b: ImageInfo) -> bool:
        """Return True when `a` ranks strictly above `b` (both ranks known)."""
        ra, rb = self.rank(a), self.rank(b)
        return ra != _NONE and rb != _NONE and ra > rb

    def same_rank(self, a: ImageInfo, b: ImageInfo) -> bool:
        """Return True when neither image is newer than the other (equal ranks, both known)."""
        ra = self.rank(a)
        return ra != _NONE and ra == self.rank(b)

    def newest(self, images: Iterable[ImageInfo]) -> ImageInfo | None:
        """Return the newest image (among equals, the higher digest), or None."""
        best: ImageInfo | None = None
        best_key: tuple[Rank, str] = (_NONE, "")
        for image in images:
            key = (self.rank(image), image.digest)
            if best is None or key > best_key:
                best, best_key = image, key
        return best

    def describe(self, image: ImageInfo) -> str:
        """Return what the image's rank is, for reasons: its push time, or the tag that ranks it."""
        if self.kind == "push-time":
            return f"pushed {iso(image.pushed_at, 'at an unknown time')}"
        rank = self.rank(image)
        return f"{self.kind} rank {rank[0]!s}" if rank else f"no {self.kind} tag"


def default_order(policy: TagPolicy) -> OrderKind:
    """Return the order a rule gets without `order:`: semver when its tag policy is about versions."""
    return "semver" if policy.has_semver else "push-time"


def newer_running(
    pinned: Iterable[str | None], image: ImageInfo, running: Mapping[str, ImageInfo], ordering: Ordering
) -> ImageInfo | None:
    """Return an image a service runs (by pinned digest) that ranks above `image`, or None."""
    for digest in pinned:
        info = running.get(digest) if digest else None
        if info is not None and ordering.newer(info, image):
            return info
    return None


def downgrade_reason(current: ImageInfo, image: ImageInfo, ordering: Ordering, what: str = "runs") -> str:
    """Return why `image` is not deployed over the newer `current`."""
    return (
        f"{what} {current.digest} ({ordering.describe(current)}), newer than {image.digest} "
        f"({ordering.describe(image)}) by {ordering.kind} order; {DOWNGRADE_HINT}"
    )
