"""Following a tag: a container deploys the images of the tag its image named when this tool first met it.

A task definition that says ``shop/api:stable`` asks for whatever ``stable`` is; the original Lambda's
forceNewDeployment re-pulled exactly that tag. So, without a ``tags:`` allow-list on the rule, only an image that
carries the followed tag (in ECR, not in the event) deploys to that container; a ``pr-123`` push is skipped. Once
the container is pinned to a digest its image no longer names the tag, so the new revision remembers it in the
``ecr-autodeploy:follows`` task-definition tag (``app=stable envoy=v1``). A rule's ``tags:`` replaces following
with its allow-list; a container whose tag was never known (first met pinned by digest) takes any allowed tag.
This is the one deliberate difference from "any push redeploys" (README, "How a deploy works").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.model import ImageInfo, TaskDefinition

FOLLOWS_TAG = "ecr-autodeploy:follows"
TAG_VALUE_MAX = 256  # ECS resource tags take values of at most 256 characters


def parse_follows(value: str | None) -> dict[str, str]:
    """Return {container: tag} from an ``ecr-autodeploy:follows`` value (unreadable parts are left out)."""
    found: dict[str, str] = {}
    for part in (value or "").split():
        name, sep, tag = part.partition("=")
        if sep and name and tag:
            found[name] = tag
    return found


def format_follows(follows: Mapping[str, str]) -> str | None:
    """Return the tag value recording `follows`, or None when there is nothing to record (or it would not fit)."""
    text = " ".join(f"{name}={tag}" for name, tag in sorted(follows.items()))
    return text if text and len(text) <= TAG_VALUE_MAX else None


def followed_tags(task_definition: TaskDefinition, containers: Sequence[str]) -> dict[str, str | None]:
    """Return, per named container, the tag it follows: the tag its image names, else the one recorded."""
    recorded = parse_follows(task_definition.tag(FOLLOWS_TAG))
    result: dict[str, str | None] = {}
    for container in task_definition.containers:
        name = str(container.get("name"))
        if name in containers:
            _, _, tag, digest = split_image(str(container.get("image", "")))
            result[name] = tag if tag is not None and digest is None else recorded.get(name)
    return result


def carried(follows: Mapping[str, str | None], image: ImageInfo) -> tuple[str, ...]:
    """Return the containers whose followed tag the image carries in ECR, or that follow no known tag."""
    return tuple(name for name, tag in follows.items() if tag is None or tag in image.tags)


def follow_refusal(key: str, follows: Mapping[str, str | None], image: ImageInfo) -> str | None:
    """Return why the image may not deploy to any of these containers, or None when one of them takes it."""
    if carried(follows, image):
        return None
    wanted = ", ".join(sorted({f"{t!r}" for t in follows.values() if t is not None}))
    has = ", ".join(repr(t) for t in image.tags) or "no tag"
    return (
        f"service {key} follows tag {wanted} (the tag its task definition named); {image.digest} carries {has} "
        "in ECR. Set tags: on the rule to deploy other tags"
    )


def recorded_follows(
    task_definition: TaskDefinition, follows: Mapping[str, str | None], updated: Sequence[str]
) -> str | None:
    """Return the ``ecr-autodeploy:follows`` value of a new revision: what it recorded, plus the updated containers."""
    merged = parse_follows(task_definition.tag(FOLLOWS_TAG))
    merged.update({name: tag for name, tag in follows.items() if name in updated and tag is not None})
    return format_follows(merged)
