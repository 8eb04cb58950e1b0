"""Drift: does a service run the newest image its rule allows? (pure; status and reconcile share it)

The newest allowed image is the newest (by the rule's order) that the tag policy allows, that carries the tag a
following container follows, and that is an image index when the service runs one. Pinned services are judged by
the digest in their task definition; a container still naming a tag by the digest that tag points at now. A
``force`` service names a tag, so what runs is what its tasks report (ECS resolves the tag per deployment), else
the ledger's last deployment there ("unknown" without either). A service running an image ranked *above* the newest
allowed one is "newer"; one ranked equal is not drift. A digest whose rollout failed there stays "bad" until a newer
image arrives or a person deploys it; a service that is gone is "missing".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from dataclasses import field, replace
from typing import Any, Literal

from ecr_autodeploy.core.errors import TargetError
from ecr_autodeploy.core.following import followed_tags
from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import ImageInfo, TaskDefinition
from ecr_autodeploy.core.planning import choose_containers
from ecr_autodeploy.core.values import frozen

DriftState = Literal["yes", "no", "newer", "unknown", "error", "bad", "missing"]


@frozen
class Drift:
    """How one service stands against the newest allowed image of one repository."""

    state: DriftState
    reason: str
    containers: tuple[str, ...] = ()
    images: Mapping[str, str] = field(default_factory=dict)
    running_digest: str | None = None
    running_tag: str | None = None
    newest: ImageInfo | None = None


class Listing:
    """A repository's images indexed once (by digest, by tag) and the newest one per way of choosing, remembered.

    Surveying a thousand services of one repository then costs O(services + images), not their product. Not for
    sharing across threads.
    """

    def __init__(self, images: Iterable[ImageInfo]) -> None:
        self.images = tuple(images)
        self.by_digest = {i.digest: i for i in self.images}
        self.by_tag = {tag: i for i in self.images for tag in i.tags}
        self._newest: dict[tuple[object, ...], ImageInfo | None] = {}

    def newest(self, target: Target, follows: Mapping[str, str | None], runs_index: bool) -> ImageInfo | None:
        """Return the newest image (by the rule's order, ties by digest) the target may run, or None."""
        following = target.follow or target.strategy == "force"
        wanted = frozenset(t for t in follows.values() if t is not None) if following else frozenset()
        key = (target.tags, target.order.kind, wanted, runs_index and not target.allow_single_platform)
        if key not in self._newest:
            self._newest[key] = target.order.newest(allowed_images(target, self.images, follows, runs_index))
        return self._newest[key]


def listing_of(images: Listing | Iterable[ImageInfo]) -> Listing:
    """Return the images as a Listing (indexing them unless they are one)."""
    return images if isinstance(images, Listing) else Listing(images)


def allowed_images(
    target: Target, images: Iterable[ImageInfo], follows: Mapping[str, str | None], runs_index: bool
) -> list[ImageInfo]:
    """Return the images the target may run: allowed by its policy, carrying a followed tag, of the right kind."""
    found = [i for i in images if target.tags.allows_any(i.tags)]
    wanted = {t for t in follows.values() if t is not None} if target.follow or target.strategy == "force" else set()
    if wanted:
        found = [i for i in found if wanted.intersection(i.tags)]
    if runs_index and not target.allow_single_platform:
        found = [i for i in found if not i.is_single_platform]
    return found


def newest_allowed(
    target: Target,
    images: Listing | Iterable[ImageInfo],
    follows: Mapping[str, str | None] | None = None,
    runs_index: bool = False,
) -> ImageInfo | None:
    """Return the newest image (by the rule's order, ties by digest) the target may run, or None."""
    return listing_of(images).newest(target, follows or {}, runs_index)


@frozen
class Standing:
    """What a service's revision says about one repository: its containers, their images and what they follow."""

    containers: tuple[str, ...]
    refs: Mapping[str, str]  # container -> image reference
    running: tuple[str | None, ...]  # digest per container (a tag resolved through the listing)
    tag: str | None  # the tag a container's image names, if any
    follows: Mapping[str, str | None]
    runs_index: bool


def standing(
    target: Target, repository: str, task_definition: TaskDefinition, images: Listing | Iterable[ImageInfo]
) -> Standing:
    """Return how the revision stands for `repository`; raise TargetError when it cannot take its images."""
    listing = listing_of(images)
    by_digest, by_tag = listing.by_digest, listing.by_tag
    containers = choose_containers(target, task_definition.body, repository)
    refs = {str(c["name"]): str(c.get("image", "")) for c in task_definition.containers if c.get("name") in containers}
    running: list[str | None] = []
    tag_of: str | None = None
    for ref in refs.values():
        _, _, tag, digest = split_image(ref)
        if digest is None and tag is not None:
            tag_of = tag
            image = by_tag.get(tag)
            digest = image.digest if image else None
        running.append(digest)
    runs_index = any(by_digest[d].is_index for d in running if d is not None and d in by_digest)
    follows = followed_tags(task_definition, containers)
    return Standing(containers, refs, tuple(running), tag_of, follows, runs_index)


def newest_for(
    target: Target, repository: str, task_definition: TaskDefinition, images: Listing | Iterable[ImageInfo]
) -> ImageInfo | None:
    """Return the newest image of `images` this service may run (None when none fits, or the service cannot)."""
    listing = listing_of(images)
    try:
        stand = standing(target, repository, task_definition, listing)
    except TargetError:
        return None
    return listing.newest(target, stand.follows, stand.runs_index)


def assess(
    target: Target,
    repository: str,
    task_definition: TaskDefinition,
    images: Listing | Iterable[ImageInfo],
    *,
    last_digest: str | None = None,
    bad: Set[str] = frozenset(),
    tasks: Mapping[str, tuple[str, ...]] | None = None,
) -> Drift:
    """Return the drift of one service for one repository.

    `last_digest` is the ledger's last deployment there, `bad` the digests whose rollout failed there, `tasks` the
    digests its running tasks report per container (what a force service really runs).
    """
    listing = listing_of(images)
    by_digest = listing.by_digest
    try:
        stand = standing(target, repository, task_definition, listing)
    except TargetError as err:
        return Drift("error", str(err))
    containers, refs, running, tag_of = stand.containers, stand.refs, list(stand.running), stand.tag
    follows = stand.follows
    newest = listing.newest(target, follows, stand.runs_index)
    single = running[0] if len(set(running)) == 1 else None
    base = Drift("no", "", containers, refs, single, tag_of, newest)
    if newest is None:
        return _with(base, "no", f"no image in {repository} is allowed by {_allowed_by(target, follows)}")
    if target.strategy == "force":
        reported = sorted({d for name in containers for d in (tasks or {}).get(name, ())})
        if reported:
            running = list(reported)
        elif last_digest is not None:
            running = [last_digest]
        else:
            return _with(base, "unknown", "force deploys by tag; no running task reports a digest, no ledger record")
        base = _with(base, "no", "", running_digest=running[0] if len(running) == 1 else None)
    if all(d == newest.digest for d in running):
        return _with(base, "no", f"runs the newest allowed image {newest.digest}")
    current = [by_digest[d] for d in running if d is not None and d in by_digest]
    if current and all(target.order.same_rank(i, newest) for i in current):
        return _with(base, "no", f"runs {current[0].digest}, ranked equal to the newest allowed {newest.digest}")
    if any(target.order.newer(i, newest) for i in current) and not target.allow_downgrade:
        verb = "pushed" if target.order.kind == "push-time" else f"ranked ({target.order.kind})"
        return _with(base, "newer", f"runs an image {verb} after the newest allowed {newest.digest}")
    if newest.digest in bad:
        return _with(
            base,
            "bad",
            f"the newest allowed image {newest.digest} failed its rollout here; not redeployed until a newer image "
            "arrives or it is deployed by hand",
        )
    shown = ", ".join(d or "an image not in the repository" for d in dict.fromkeys(running))
    return _with(base, "yes", f"runs {shown}; newest allowed is {newest.digest}")


def _allowed_by(target: Target, follows: Mapping[str, str | None]) -> str:
    wanted = sorted({t for t in follows.values() if t is not None})
    if wanted and (target.follow or target.strategy == "force"):
        return f"{target.tags.describe()}, following {', '.join(repr(t) for t in wanted)}"
    return target.tags.describe()


def _with(drift: Drift, state: DriftState, reason: str, **changes: Any) -> Drift:
    return replace(drift, state=state, reason=reason, **changes)
