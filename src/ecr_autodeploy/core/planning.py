"""Planning: from one service as read now and the image that arrived, decide what to do (pure data).

Pin (default) registers a copy of the service's task definition with the image of the containers that use the
repository replaced by ``REGISTRY/REPO@sha256:DIGEST``; every other field is kept. Force asks ECS for a new
deployment of the same task definition, which re-pulls the tag its containers name, so it deploys only an image
that carries that tag and reports the digest the tag resolves to. What an image may deploy is judged on the tags
ECR gives its digest, never on the tag an event claims.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Literal

from ecr_autodeploy.core.errors import TargetError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.following import FOLLOWS_TAG, carried, follow_refusal, followed_tags, recorded_follows
from ecr_autodeploy.core.image_refs import containers_using, pinned_digests, split_image
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import ImageInfo, Service, Snapshot, TaskDefinition
from ecr_autodeploy.core.ordering import downgrade_reason, newer_running
from ecr_autodeploy.core.strategies import deployment_configuration
from ecr_autodeploy.core.timefmt import iso
from ecr_autodeploy.core.values import frozen

if TYPE_CHECKING:
    from ecr_autodeploy.core.outcomes import Hold

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
# The revision a pinned deploy replaced, and whether its rule rolls back: enough for the tracker to report and roll
# back a deployment whose ledger record could not be written.
PREVIOUS_TAG = "ecr-autodeploy:previous"
ROLLBACK_TAG = "ecr-autodeploy:rollback"
OWN_TAGS = (DIGEST_TAG, EVENT_TAG, FOLLOWS_TAG, PREVIOUS_TAG, ROLLBACK_TAG)
# Push times may be whole seconds (the emulator's are): a deployment within a second of a push may predate it.
PUSH_TIME_RESOLUTION = timedelta(seconds=1)

Action = Literal["register", "force", "unchanged", "skip"]


@frozen
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
    # The deploymentConfiguration the UpdateService sets (the rule's deployment: block), None to leave it.
    deployment_configuration: Mapping[str, Any] | None = None
    hold: Hold | None = None  # a gate holds the deployment back (core/gates.py): it is not applied

    @property
    def deploys(self) -> bool:
        """Return True when the plan would start a deployment, were no gate holding it."""
        return self.action in ("register", "force")

    @property
    def changes(self) -> bool:
        """Return True when applying the plan starts a deployment (no gate holds it)."""
        return self.deploys and self.hold is None


def tag_refusal(target: Target, event: ImageEvent) -> str | None:
    """Return why the tag the event names may not deploy to the target (a cheap refusal before any AWS call)."""
    if event.tag is not None and not target.tags.allows(event.tag):
        return target.tags.reason(event.tag)
    return None


def image_refusal(target: Target, image: ImageInfo, event_tag: str | None = None) -> str | None:
    """Return why the image may not deploy by the tags ECR gives its digest, or None when the policy allows it."""
    if target.tags.allows_any(image.tags):
        return None
    reason = target.tags.reason(image.tags[0] if image.tags else None)
    if event_tag is not None and event_tag not in image.tags:
        has = ", ".join(repr(t) for t in image.tags) or "no tag"
        reason = f"the event named tag {event_tag!r} but ECR tags {image.digest} {has}: {reason}"
    return reason


def controller_refusal(service: Service) -> str | None:
    """Return why UpdateService must not deploy to this service (another deployment controller), or None."""
    controller = service.deployment_controller
    if controller == "CODE_DEPLOY":
        return (
            f"service {service.ref.key} uses the CODE_DEPLOY deployment controller: ECS refuses a new task "
            "definition through UpdateService. Deploy it with CodeDeploy (an AppSpec naming the new revision), or "
            "migrate the service to ECS-native blue/green (deploymentController ECS, strategy BLUE_GREEN)"
        )
    if controller == "EXTERNAL":
        return (
            f"service {service.ref.key} uses the EXTERNAL deployment controller: its task sets are managed by "
            "another tool (CreateTaskSet / UpdateServicePrimaryTaskSet), not by UpdateService. Deploy through that "
            "tool, or migrate the service to the ECS controller (rolling or native blue/green)"
        )
    if controller != "ECS":
        return f"service {service.ref.key} uses deployment controller {controller!r}, which this tool does not drive"
    if service.managed_by == "ECS":
        return (
            f"service {service.ref.key} is an Express service managed by ECS: deploy it with "
            "UpdateExpressGatewayService (not supported by this tool)"
        )
    return None


def choose_containers(target: Target, task_definition: Mapping[str, Any], repository: str) -> tuple[str, ...]:
    """Return the containers to update; raise TargetError naming what does not fit.

    A container named in the rule's ``containers:`` is replaced only when it runs an image of the repository
    that arrived: a rule matching ``shop/*`` must not put ``shop/evil`` into the api container, nor the app image
    into a sidecar from another registry.
    """
    using = containers_using(task_definition, repository)
    family = task_definition.get("family", "?")
    if target.containers is None:
        if not using:
            raise TargetError(
                f"service {target.key}: no container of task definition {family} uses repository {repository!r}"
            )
        return tuple(using)
    images = {str(c.get("name")): str(c.get("image", "")) for c in task_definition.get("containerDefinitions", [])}
    for name in target.containers:
        if name not in images:
            raise TargetError(f"service {target.key}: task definition {family} has no container {name!r}")
        if name not in using:
            host, other, _, _ = split_image(images[name])
            runs = f"repository {other!r}" if host is not None else f"{images[name]!r}, not an ECR image"
            raise TargetError(
                f"service {target.key}: container {name!r} runs {runs}, not {repository!r}; containers: only takes "
                "images of the repository that arrived"
            )
    return tuple(target.containers)


def plan_target(
    target: Target,
    snapshot: Snapshot,
    image: ImageInfo,
    registry: str,
    *,
    event_id: str,
    running: Mapping[str, ImageInfo],
    event_tag: str | None = None,
) -> Plan:
    """Return the plan for one target; `running` maps digests the service runs now to what ECR knows of them."""
    td = snapshot.task_definition
    current = snapshot.service.task_definition_arn
    foreign = controller_refusal(snapshot.service)
    if foreign is not None:
        return Plan(target, "skip", foreign, digest=image.digest, current_task_definition=current)
    containers = choose_containers(target, td.body, image.repository)
    settings = target.deployment
    configuration = deployment_configuration(settings, snapshot.service.deployment_configuration) if settings else None
    base = Plan(
        target,
        "unchanged",
        "",
        digest=image.digest,
        containers=containers,
        current_task_definition=current,
        deployment_configuration=configuration,
    )
    refused = image_refusal(target, image, event_tag)
    if refused is not None:
        return replace(base, action="skip", reason=refused)
    follows = followed_tags(td, containers) if target.follow or target.strategy == "force" else {}
    tag = _tag(target, image, follows, event_tag)
    base = replace(base, tag=tag)
    if target.strategy == "force":
        return _force(base, snapshot, image, follows)
    if follows:
        refused = follow_refusal(target.key, follows, image)
        if refused is not None:
            return replace(base, action="skip", reason=refused)
        containers = carried(follows, image)
        base = replace(base, containers=containers)
    pinned = pinned_digests(td.body, containers)
    if all(d == image.digest for d in pinned.values()):
        return replace(base, reason=f"already runs {image.digest}")
    newer = newer_running(pinned.values(), image, running, target.order)
    if newer is not None and not target.allow_downgrade:
        return replace(base, action="skip", reason=downgrade_reason(newer, image, target.order))
    index = next((running[d] for d in pinned.values() if d is not None and d in running and running[d].is_index), None)
    if index is not None and image.is_single_platform and not target.allow_single_platform:
        reason = (
            f"runs the multi-platform image index {index.digest}; {image.digest} is a single-platform manifest "
            f"({image.media_type}). Set allow_single_platform: true to deploy it"
        )
        return replace(base, action="skip", reason=reason)
    register, images = pin_task_definition(td, containers, registry, image, event_id, target, follows)
    reason = f"pin {', '.join(containers)} to {image.digest}"
    return replace(base, action="register", reason=reason, images=images, register=register)


def _tag(target: Target, image: ImageInfo, follows: Mapping[str, str | None], event_tag: str | None) -> str | None:
    """Return the tag to report: the followed one, else the event's (when ECR agrees), else the first allowed."""
    followed = [t for t in follows.values() if t is not None and t in image.tags]
    if followed:
        return followed[0]
    if event_tag is not None and event_tag in image.tags:
        return event_tag
    return target.tags.first_allowed(image.tags)


def _force(base: Plan, snapshot: Snapshot, image: ImageInfo, follows: Mapping[str, str | None]) -> Plan:
    """Return the force plan: a new deployment re-pulls the tag the containers name, so only that tag deploys."""
    t = base.target
    pinned = [name for name, tag in follows.items() if tag is None]
    if pinned:
        raise TargetError(
            f"service {t.key}: strategy force re-pulls the tag a container names, but {', '.join(pinned)} "
            "names no tag (pinned by digest); use strategy: pin"
        )
    named = sorted({tag for tag in follows.values() if tag is not None})
    pulls = [tag for tag in named if tag in image.tags]
    if not pulls:
        has = ", ".join(repr(x) for x in image.tags) or "no tag"
        reason = (
            f"force re-pulls {', '.join(repr(x) for x in named)} (what the task definition names); {image.digest} "
            f"carries {has} in ECR, so a new deployment would not run it"
        )
        return replace(base, action="skip", reason=reason)
    if not t.tags.allows(pulls[0]):
        return replace(base, action="skip", reason=t.tags.reason(pulls[0]))
    primary = snapshot.service.primary
    if (
        primary is not None
        and primary.created_at is not None
        and image.pushed_at is not None
        and primary.created_at - image.pushed_at > PUSH_TIME_RESOLUTION
        and primary.task_definition == snapshot.service.task_definition_arn
    ):
        reason = (
            f"deployment {primary.id} started {iso(primary.created_at)}, after {image.digest} was pushed "
            f"{iso(image.pushed_at)}: it already pulled :{pulls[0]}"
        )
        return replace(base, tag=pulls[0], reason=reason)
    reason = f"force a new deployment of {snapshot.service.task_definition_arn}: :{pulls[0]} is {image.digest} now"
    return replace(base, action="force", tag=pulls[0], reason=reason)


def pin_task_definition(
    task_definition: TaskDefinition,
    containers: Sequence[str],
    registry: str,
    image: ImageInfo,
    event_id: str,
    target: Target,
    follows: Mapping[str, str | None],
) -> tuple[dict[str, Any], dict[str, str]]:
    """Return (RegisterTaskDefinition parameters, new image per container): a copy with only images changed."""
    params: dict[str, Any] = {k: v for k, v in task_definition.body.items() if k not in READ_ONLY_FIELDS}
    new_containers = []
    images: dict[str, str] = {}
    for container in task_definition.containers:
        copy = dict(container)
        if container.get("name") in containers:
            host, _, _, _ = split_image(str(container.get("image", "")))
            # Keep the registry the container already pulls from (a regional replica); the digest is the same.
            copy["image"] = f"{host or registry}/{image.repository}@{image.digest}"
            images[str(container["name"])] = copy["image"]
        new_containers.append(copy)
    params["containerDefinitions"] = new_containers
    own = {DIGEST_TAG: image.digest, EVENT_TAG: event_id[:256], PREVIOUS_TAG: task_definition.arn[:256]}
    if target.rollback:
        own[ROLLBACK_TAG] = "true"
    follow_value = recorded_follows(task_definition, follows, containers) if follows else None
    if follow_value is not None:
        own[FOLLOWS_TAG] = follow_value
    kept = [dict(t) for t in task_definition.tags if t.get("key") not in OWN_TAGS]
    params["tags"] = [*kept, *({"key": k, "value": v} for k, v in own.items())]
    return params, images


def force_order(plan: Plan, last: str | None, image: ImageInfo, known: Mapping[str, ImageInfo]) -> Plan:
    """Return a force plan turned into unchanged/skip when the digest last forced there is this one or newer."""
    if plan.action != "force" or last is None:
        return plan
    if last == image.digest:
        reason = f"the last force deployment here was of {image.digest}: it already pulled :{plan.tag}"
        return replace(plan, action="unchanged", reason=reason)
    previous = known.get(last)
    ordering = plan.target.order
    if previous is not None and ordering.newer(previous, image) and not plan.target.allow_downgrade:
        return replace(plan, action="skip", reason=downgrade_reason(previous, image, ordering, "last forced"))
    return plan
