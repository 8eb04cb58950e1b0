"""Drift: does a service run the newest image its rule allows? (pure; status and reconcile share it)

Pinned services are judged by the digest in their task definition; a container still referencing a tag is
judged by the digest that tag points at now. A ``force`` service's task definition names a tag, so what runs
is known only from the ledger's last deployment there ("unknown" without one). A service running an image
pushed *after* the newest allowed one is "newer": reconcile leaves it unless the rule allows downgrades.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ecr_autodeploy.core.errors import TargetError
from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import ImageInfo
from ecr_autodeploy.core.ordering import newer as is_newer
from ecr_autodeploy.core.ordering import newest as newest_of
from ecr_autodeploy.core.planning import choose_containers
from ecr_autodeploy.core.tags import TagPolicy

DriftState = Literal["yes", "no", "newer", "unknown", "error"]


@dataclass(frozen=True)
class Drift:
    """How one service stands against the newest allowed image of one repository."""

    state: DriftState
    reason: str
    containers: tuple[str, ...] = ()
    images: Mapping[str, str] = field(default_factory=dict)
    running_digest: str | None = None
    running_tag: str | None = None


def newest_allowed(images: Iterable[ImageInfo], policy: TagPolicy) -> ImageInfo | None:
    """Return the newest image by push time whose tags the policy allows (untagged only when it allows that)."""
    return newest_of(image for image in images if policy.allows_any(image.tags))


def assess(
    target: Target,
    repository: str,
    task_definition: Mapping[str, Any],
    images: Iterable[ImageInfo],
    newest: ImageInfo | None,
    last_digest: str | None = None,
) -> Drift:
    """Return the drift of one service for one repository; `last_digest` is the ledger's last deployment there."""
    known = list(images)
    by_digest = {i.digest: i for i in known}
    by_tag = {tag: i for i in known for tag in i.tags}
    try:
        containers = choose_containers(target, task_definition, repository)
    except TargetError as err:
        return Drift("error", str(err))
    refs = {
        str(c["name"]): str(c.get("image", ""))
        for c in task_definition.get("containerDefinitions", [])
        if c.get("name") in containers
    }
    running: list[str | None] = []
    tag_of: str | None = None
    for ref in refs.values():
        _, _, tag, digest = split_image(ref)
        if digest is None and tag is not None:
            tag_of = tag
            image = by_tag.get(tag)
            digest = image.digest if image else None
        running.append(digest)
    base = Drift("no", "", containers, refs, running[0] if len(set(running)) == 1 else None, tag_of)
    if newest is None:
        return _with(base, "no", f"no image in {repository} is allowed by {target.tags.describe()}")
    if target.strategy == "force":
        if last_digest is None:
            return _with(base, "unknown", "force deploys by tag; no ledger record of the digest it runs")
        running = [last_digest]
        base = _with(base, "no", "", running_digest=last_digest)
    if all(d == newest.digest for d in running):
        return _with(base, "no", f"runs the newest allowed image {newest.digest}")
    newer = [by_digest[d] for d in running if d is not None and d in by_digest]
    if any(is_newer(i, newest) for i in newer) and not target.allow_downgrade:
        return _with(base, "newer", f"runs an image pushed after the newest allowed {newest.digest}")
    current = ", ".join(d or "an image not in the repository" for d in dict.fromkeys(running))
    return _with(base, "yes", f"runs {current}; newest allowed is {newest.digest}")


def _with(drift: Drift, state: DriftState, reason: str, **changes: Any) -> Drift:
    return replace(drift, state=state, reason=reason, **changes)
