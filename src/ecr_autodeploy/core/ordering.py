"""Ordering: which of two images is newer, so that a late event never replaces what a service runs with an older one.

Images are ordered by the time ECR says they were pushed; an image with no push time sorts oldest and is never
"newer". A force deploy names a tag, so its task definition cannot say which digest runs: the ledger's last
force deployment there stands in for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ecr_autodeploy.core.model import ImageInfo
from ecr_autodeploy.core.timefmt import epoch, iso

DOWNGRADE_HINT = "set allow_downgrade: true to deploy older images"


def newer(a: ImageInfo, b: ImageInfo) -> bool:
    """Return True when `a` was pushed strictly after `b` (both push times known)."""
    return a.pushed_at is not None and b.pushed_at is not None and a.pushed_at > b.pushed_at


def newest(images: Iterable[ImageInfo]) -> ImageInfo | None:
    """Return the image pushed last (the first of equals), or None."""
    best: ImageInfo | None = None
    for image in images:
        if best is None or epoch(image.pushed_at) > epoch(best.pushed_at):
            best = image
    return best


def newer_running(pinned: Iterable[str | None], image: ImageInfo, running: Mapping[str, ImageInfo]) -> ImageInfo | None:
    """Return an image a service runs (by pinned digest) that was pushed after `image`, or None."""
    for digest in pinned:
        info = running.get(digest) if digest else None
        if info is not None and newer(info, image):
            return info
    return None


def downgrade_reason(current: ImageInfo, image: ImageInfo, what: str = "runs") -> str:
    """Return why `image` is not deployed over the newer `current`."""
    return (
        f"{what} {current.digest} pushed {iso(current.pushed_at, 'at an unknown time')}, newer than {image.digest} "
        f"pushed {iso(image.pushed_at, 'at an unknown time')}; {DOWNGRADE_HINT}"
    )
