"""Planning: from the gathered state of one service and the arrived image, decide what to do (pure data).

Pin (default) registers a copy of the service's task definition with the image of the containers that use the
repository replaced by ``REGISTRY/REPO@sha256:DIGEST``; every other field is kept. Force asks ECS for a new
deployment of the same task definition, as the classic two-regex Lambda did.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from ecr_autodeploy.core.errors import TargetError
from ecr_autodeploy.core.mapping import Target

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

# OCI/Docker media types of a multi-architecture image index; its digest is the one to deploy.
INDEX_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
_ECR_IMAGE_RE = re.compile(r"^(?P<host>\d{12}\.dkr\.ecr(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)/(?P<rest>.+)$")

Action = Literal["register", "force", "unchanged", "skip"]


@dataclass(frozen=True)
class ImageInfo:
    """What ECR knows about one image."""

    repository: str
    registry_id: str
    digest: str
    tags: tuple[str, ...] = ()
    pushed_at: datetime | None = None
    media_type: str | None = None

    @property
    def is_index(self) -> bool:
        """Return True for a multi-architecture image index."""
        return self.media_type in INDEX_MEDIA_TYPES


@dataclass(frozen=True)
class Deployment:
    """One entry of a service's ``deployments``."""

    id: str
    status: str
    task_definition: str
    rollout_state: str | None = None
    rollout_reason: str | None = None
    running: int = 0
    desired: int = 0
    pending: int = 0
    failed_tasks: int = 0


@dataclass(frozen=True)
class ServiceState:
    """A service as DescribeServices returned it, with its current task definition."""

    cluster: str
    service: str
    region: str
    arn: str
    task_definition_arn: str
    task_definition: Mapping[str, Any]
    task_definition_tags: tuple[Mapping[str, str], ...] = ()
    deployments: tuple[Deployment, ...] = ()
    circuit_breaker: bool = False
    circuit_breaker_rollback: bool = False

    @property
    def primary(self) -> Deployment | None:
        """Return the PRIMARY (newest) deployment, if any."""
        return next((d for d in self.deployments if d.status == "PRIMARY"), None)


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

    def to_dict(self) -> dict[str, Any]:
        """Return the plan as JSON-ready data (the register parameters are summarised, not dumped)."""
        return {
            "target": self.target.key,
            "cluster": self.target.cluster,
            "service": self.target.service,
            "region": self.target.region,
            "strategy": self.target.strategy,
            "action": self.action,
            "reason": self.reason,
            "digest": self.digest,
            "tag": self.tag,
            "containers": list(self.containers),
            "images": dict(self.images),
            "current_task_definition": self.current_task_definition,
            "family": self.register.get("family") if self.register else None,
        }


def split_image(image: str) -> tuple[str | None, str, str | None, str | None]:
    """Return (ECR registry host or None, repository, tag, digest) of a container image reference."""
    match = _ECR_IMAGE_RE.match(image)
    host, rest = (match.group("host"), match.group("rest")) if match else (None, image)
    digest = None
    if "@" in rest:
        rest, digest = rest.split("@", 1)
    tag = None
    if ":" in rest.rsplit("/", 1)[-1]:
        rest, tag = rest.rsplit(":", 1)
    return host, rest, tag, digest


def containers_using(task_definition: Mapping[str, Any], repository: str) -> list[str]:
    """Return the names of the containers whose image is an ECR image of `repository`."""
    names = []
    for container in task_definition.get("containerDefinitions", []):
        host, repo, _, _ = split_image(str(container.get("image", "")))
        if host is not None and repo == repository:
            names.append(str(container["name"]))
    return names


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


def pinned_digests(task_definition: Mapping[str, Any], containers: Sequence[str]) -> dict[str, str | None]:
    """Return, for each named container, the digest its image is pinned to (None for a tag)."""
    result: dict[str, str | None] = {}
    for container in task_definition.get("containerDefinitions", []):
        if container.get("name") in containers:
            result[str(container["name"])] = split_image(str(container.get("image", "")))[3]
    return result


def plan_target(
    target: Target,
    state: ServiceState,
    image: ImageInfo,
    registry: str,
    *,
    tag: str | None,
    event_id: str,
    running: Mapping[str, ImageInfo],
) -> Plan:
    """Return the plan for one target; `running` maps digests the service runs now to what ECR knows of them."""
    td = state.task_definition
    if target.strategy == "force":
        return Plan(
            target,
            "force",
            f"force a new deployment of {state.task_definition_arn}",
            digest=image.digest,
            tag=tag,
            current_task_definition=state.task_definition_arn,
        )
    containers = choose_containers(target, td, image.repository)
    pinned = pinned_digests(td, containers)
    base = Plan(
        target,
        "unchanged",
        f"already runs {image.digest}",
        digest=image.digest,
        tag=tag,
        containers=containers,
        current_task_definition=state.task_definition_arn,
    )
    if all(d == image.digest for d in pinned.values()):
        return base
    newer = _newer_running(pinned.values(), image, running)
    if newer is not None and not target.allow_downgrade:
        reason = (
            f"runs {newer.digest} pushed {_iso(newer.pushed_at)}, newer than {image.digest} pushed "
            f"{_iso(image.pushed_at)}; set allow_downgrade: true to deploy older images"
        )
        return replace(base, action="skip", reason=reason)
    register, images = pin_task_definition(td, state.task_definition_tags, containers, registry, image, event_id)
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


def _newer_running(
    pinned: Iterable[str | None], image: ImageInfo, running: Mapping[str, ImageInfo]
) -> ImageInfo | None:
    if image.pushed_at is None:
        return None
    for digest in pinned:
        info = running.get(digest) if digest else None
        if info is not None and info.pushed_at is not None and info.pushed_at > image.pushed_at:
            return info
    return None


def _iso(when: datetime | None) -> str:
    return when.isoformat() if when else "at an unknown time"
