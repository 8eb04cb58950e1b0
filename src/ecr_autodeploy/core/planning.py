"""Planning: from the gathered state of one service and the arrived image, decide what to do (pure data).

Pin (default) registers a copy of the service's task definition with the image of the containers that use the
repository replaced by ``REGISTRY/REPO@sha256:DIGEST``; every other field is kept. Force asks ECS for a new
deployment of the same task definition, as the classic two-regex Lambda did.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ecr_autodeploy.core.errors import TargetError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.image_refs import containers_using, pinned_digests, split_image
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import ImageInfo, Snapshot
from ecr_autodeploy.core.ordering import downgrade_reason, newer, newer_running

# DescribeTaskDefinition returns these; RegisterTaskDefinition refuses them.
READ_ONLY_FIELDS = frozenset(
    {
        "compatibilities",
        "deleteRequestedAt",
        "deregisteredAt",
        "registeredAt",
        "registeredBy",
        "requiresAttributes",
        "revision",
        "status",
        "taskDefinitionArn",
    }
)
DIGEST_TAG = "ecr-autodeploy:digest"
EVENT_TAG = "ecr-autodeploy:event"

Action = Literal["register", "force", "unchanged", "skip"]


@dataclass(frozen=True)
class Plan:
    """What to do for one target; `register` holds the RegisterTaskDefinition parameters when pinning."""

    target: Target
    action: Action
    reason: str
    digest: str | None = None
    tag: str | None = None
    containers: tuple[str, ...] = ()
    images: Mapping[str, str] = field(default_factory=dict)
    current_task_definition: str | None = None
    register: Mapping[str, Any] | None = None

    @property
    def changes(self) -> bool:
        """Return True when applying the plan starts a deployment."""
        return self.action in ("register", "force")


def tag_refusal(target: Target, event: ImageEvent) -> str | None:
    """Return why the event's tag may not deploy to the target, or None (no tag yet, or allowed)."""
    if event.tag is not None and not target.tags.allows(event.tag):
        return target.tags.reason(event.tag)
    return None


def image_refusal(target: Target, event: ImageEvent, image: ImageInfo) -> str | None:
    """Return why an image that arrived without a tag may not deploy (judged on its tags in ECR), or None."""
    if event.tag is None and not target.tags.allows_any(image.tags):
        return target.tags.reason(image.tags[0] if image.tags else None)
    return None


def choose_containers(target: Target, task_definition: Mapping[str, Any], repository: str) -> tuple[str, ...]:
    """Return the containers to update; raise TargetError when none uses the repository or a name is unknown."""
    using = containers_using(task_definition, repository)
    family = task_definition.get("family", "?")
    if target.containers is None:
        if not using:
            raise TargetError(
                f"service {target.key}: no container of task definition {family} uses repository {repository!r}"
            )
        return tuple(using)
    names = {str(c.get("name")) for c in task_definition.get("containerDefinitions", [])}
    for name in target.containers:
        if name not in names:
            raise TargetError(f"service {target.key}: task definition {family} has no container {name!r}")
    return tuple(target.containers)


def plan_target(
    target: Target,
    snapshot: Snapshot,
    image: ImageInfo,
    registry: str,
    *,
    tag: str | None,
    event_id: str,
    running: Mapping[str, ImageInfo],
) -> Plan:
    """Return the plan for one target; `running` maps digests the service runs now to what ECR knows of them."""
    td = snapshot.task_definition
    current = snapshot.service.task_definition_arn
    if target.strategy == "force":
        return Plan(
            target,
            "force",
            f"force a new deployment of {current}",
            digest=image.digest,
            tag=tag,
            current_task_definition=current,
        )
    containers = choose_containers(target, td.body, image.repository)
    pinned = pinned_digests(td.body, containers)
    base = Plan(
        target,
        "unchanged",
        f"already runs {image.digest}",
        digest=image.digest,
        tag=tag,
        containers=containers,
        current_task_definition=current,
    )
    if all(d == image.digest for d in pinned.values()):
        return base
    newer_image = newer_running(pinned.values(), image, running)
    if newer_image is not None and not target.allow_downgrade:
        return replace(base, action="skip", reason=downgrade_reason(newer_image, image))
    register, images = pin_task_definition(td.body, td.tags, containers, registry, image, event_id)
    reason = f"pin {', '.join(containers)} to {image.digest}"
    return replace(base, action="register", reason=reason, images=images, register=register)


def pin_task_definition(
    task_definition: Mapping[str, Any],
    tags: Sequence[Mapping[str, str]],
    containers: Sequence[str],
    registry: str,
    image: ImageInfo,
    event_id: str,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (RegisterTaskDefinition parameters, new image per container): a copy with only images changed."""
    params: dict[str, Any] = {k: v for k, v in task_definition.items() if k not in READ_ONLY_FIELDS}
    new_containers = []
    images: dict[str, str] = {}
    for container in task_definition.get("containerDefinitions", []):
        copy = dict(container)
        if container.get("name") in containers:
            host, _, _, _ = split_image(str(container.get("image", "")))
            # Keep the registry the container already pulls from (a regional replica); the digest is the same.
            copy["image"] = f"{host or registry}/{image.repository}@{image.digest}"
            images[str(container["name"])] = copy["image"]
        new_containers.append(copy)
    params["containerDefinitions"] = new_containers
    kept = [dict(t) for t in tags if t.get("key") not in (DIGEST_TAG, EVENT_TAG)]
    params["tags"] = [*kept, {"key": DIGEST_TAG, "value": image.digest}, {"key": EVENT_TAG, "value": event_id[:256]}]
    return params, images


def force_order(plan: Plan, last: str | None, image: ImageInfo, known: Mapping[str, ImageInfo]) -> Plan:
    """Return a force plan turned into unchanged/skip when the digest last forced there is this one or newer."""
    if plan.action != "force" or last is None:
        return plan
    if last == image.digest:
        return replace(plan, action="unchanged", reason=f"the last force deployment here was of {image.digest}")
    previous = known.get(last)
    if previous is not None and newer(previous, image) and not plan.target.allow_downgrade:
        return replace(plan, action="skip", reason=downgrade_reason(previous, image, "last forced"))
    return plan
