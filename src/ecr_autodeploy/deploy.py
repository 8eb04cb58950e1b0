"""The use case shared by the Lambda and the CLI: event -> targets -> gathered state -> plans -> applied outcomes.

Gather (batched, concurrent) -> decide (pure, core.planning) -> apply (concurrent, bounded). One target's
failure does not stop the others; afterwards DeployError is raised so Lambda retries the event, and the retry
is a no-op for the targets already running the digest.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.errors import AutodeployError, AwsError, DeployError, NotFoundError
from ecr_autodeploy.core.events import Ignored, ImageEvent, ReplicationFailure, parse_event
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.planning import Deployment, ImageInfo, Plan, ServiceState, plan_target, split_image
from ecr_autodeploy.core.tags import TagPolicy
from ecr_autodeploy.outcomes import Outcome, Result, log_decision

MAX_WORKERS = 8


class RegistryPort(Protocol):
    """What the deploy path reads from ECR."""

    def images(self, region: str, registry_id: str, repository: str, digests: Sequence[str]) -> dict[str, ImageInfo]:
        """Return the images with these digests (the first must exist)."""
        ...

    def by_tag(self, region: str, registry_id: str, repository: str, tag: str) -> ImageInfo:
        """Return the image a tag points at."""
        ...

    def newest(
        self, region: str, registry_id: str, repository: str, allowed: Callable[[ImageInfo], bool]
    ) -> ImageInfo | None:
        """Return the newest image by push time that `allowed` accepts."""
        ...


class ClusterPort(Protocol):
    """What the deploy path reads from and does to ECS."""

    def services(
        self, region: str, role_arn: str | None, cluster: str, names: Sequence[str]
    ) -> Mapping[str, Mapping[str, Any] | NotFoundError]:
        """Return each service's description or why it is missing."""
        ...

    def task_definition(self, region: str, role_arn: str | None, arn: str) -> tuple[dict[str, Any], list[Any]]:
        """Return (task definition, tags)."""
        ...

    def register(self, region: str, role_arn: str | None, params: Mapping[str, Any]) -> str:
        """Register a revision; return its ARN."""
        ...

    def update(
        self,
        region: str,
        role_arn: str | None,
        cluster: str,
        service: str,
        *,
        task_definition: str | None = None,
        force: bool = False,
    ) -> Deployment | None:
        """Start a deployment; return the new PRIMARY deployment."""
        ...


StateReader = Callable[[Mapping[str, Any], str, str, Mapping[str, Any], Sequence[Any]], ServiceState]


@dataclass(frozen=True)
class _Prepared:
    """A target with its gathered state, or the outcome that ends it early."""

    target: Target
    state: ServiceState | None = None
    image: ImageInfo | None = None
    outcome: Outcome | None = None


class Deployer:
    """Turn one event into deployments; the same object serves the Lambda handler and the CLI."""

    def __init__(
        self,
        config: Config,
        registry: RegistryPort,
        cluster: ClusterPort,
        state_reader: StateReader,
        *,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.config = config
        self.registry = registry
        self.cluster = cluster
        self._state = state_reader
        self._max_workers = max_workers

    # ---- entry points -------------------------------------------------------------------------------------

    def handle(self, raw: object, *, dry_run: bool = False) -> Result:
        """Return every outcome of the event; raise EventError (malformed) or DeployError (a target failed)."""
        event = parse_event(raw)
        if isinstance(event, Ignored):
            outcome = Outcome("ignored", event.reason)
            log_decision(outcome, event.event_id)
            return Result(event.event_id, event.detail_type, None, None, None, (outcome,))
        if isinstance(event, ReplicationFailure):
            return self._alert(event)
        return self.handle_image(event, dry_run=dry_run)

    def handle_image(self, event: ImageEvent, *, dry_run: bool = False) -> Result:
        """Deploy (or, with dry_run, plan) one image event; raise DeployError if any target failed."""
        targets, skips = map_repository(self.config, event.repository, event.repository_arn, event.region)
        outcomes = [
            Outcome("skipped", s.reason, rule=s.rule, repository=event.repository, tag=event.tag, digest=event.digest)
            for s in skips
        ]
        if targets:
            plans_or_outcomes = self.plan(event, targets)
            outcomes.extend(self._apply_all(plans_or_outcomes, event, dry_run))
        return self._finish(event, outcomes)

    def deploy_targets(self, event: ImageEvent, targets: Sequence[Target], *, dry_run: bool = False) -> Result:
        """Deploy an image to explicitly given targets (the CLI's manual deploy); same engine as events."""
        return self._finish(event, list(self._apply_all(self.plan(event, targets), event, dry_run)))

    # ---- gather and decide --------------------------------------------------------------------------------

    def plan(self, event: ImageEvent, targets: Sequence[Target]) -> list[Plan | Outcome]:
        """Return a Plan for every target that reached planning, or the Outcome that ended it earlier."""
        prepared = [self._tag_gate(event, t) for t in targets]
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            prepared = self._gather_services(pool, event, prepared)
        prepared, running = self._gather_images(event, prepared)
        result: list[Plan | Outcome] = []
        for p in prepared:
            if p.outcome is not None:
                result.append(p.outcome)
                continue
            # The gather steps set both whenever they leave no outcome.
            assert p.state is not None
            assert p.image is not None
            try:
                result.append(
                    plan_target(
                        p.target,
                        p.state,
                        p.image,
                        event.registry,
                        tag=event.tag or _allowed_tag(p.target.tags, p.image),
                        event_id=event.event_id,
                        running=running,
                    )
                )
            except AutodeployError as err:
                result.append(_failed(p.target, event, err))
        return result

    def _tag_gate(self, event: ImageEvent, target: Target) -> _Prepared:
        if event.tag is not None and not target.tags.allows(event.tag):
            return _Prepared(target, outcome=_outcome(target, event, "skipped", target.tags.reason(event.tag)))
        return _Prepared(target)

    def _gather_services(self, pool: ThreadPoolExecutor, event: ImageEvent, items: list[_Prepared]) -> list[_Prepared]:
        live = [p for p in items if p.outcome is None]
        groups: dict[tuple[str, str | None, str], list[str]] = {}
        for p in live:
            groups.setdefault((p.target.region, p.target.role_arn, p.target.cluster), []).append(p.target.service)
        described = {
            key: pool.submit(self.cluster.services, key[0], key[1], key[2], names) for key, names in groups.items()
        }
        found: dict[tuple[str, str | None, str], Mapping[str, Mapping[str, Any] | NotFoundError] | AwsError] = {}
        for key, services in described.items():
            try:
                found[key] = services.result()
            except AwsError as err:
                found[key] = err
        svc_of: dict[str, Mapping[str, Any] | AwsError] = {}
        for p in live:
            group = found[(p.target.region, p.target.role_arn, p.target.cluster)]
            svc_of[p.target.key] = group if isinstance(group, AwsError) else group[p.target.service]
        td_keys = {
            (p.target.region, p.target.role_arn, str(svc["taskDefinition"]))
            for p in live
            if not isinstance(svc := svc_of[p.target.key], AwsError)
        }
        td_futures = {key: pool.submit(self.cluster.task_definition, *key) for key in td_keys}
        tds: dict[tuple[str, str | None, str], tuple[dict[str, Any], list[Any]] | AwsError] = {}
        for key, described_td in td_futures.items():
            try:
                tds[key] = described_td.result()
            except AwsError as err:
                tds[key] = err
        out = []
        for p in items:
            if p.outcome is not None:
                out.append(p)
                continue
            svc = svc_of[p.target.key]
            if isinstance(svc, AwsError):
                out.append(replace(p, outcome=_failed(p.target, event, svc)))
                continue
            td = tds[(p.target.region, p.target.role_arn, str(svc["taskDefinition"]))]
            if isinstance(td, AwsError):
                out.append(replace(p, outcome=_failed(p.target, event, td)))
                continue
            state = self._state(svc, p.target.region, p.target.cluster, td[0], td[1])
            out.append(replace(p, state=state))
        return out

    def _gather_images(self, event: ImageEvent, items: list[_Prepared]) -> tuple[list[_Prepared], dict[str, ImageInfo]]:
        """Resolve the arrived image and, in the same call, the images the services run now (by digest)."""
        live = [p for p in items if p.outcome is None]
        known: dict[str, ImageInfo] = {}
        if not live:
            return items, known
        running = _running_digests(p.state for p in live if p.state is not None)
        resolved: dict[TagPolicy, ImageInfo | None] = {}
        if event.digest is not None:
            digests = [event.digest, *(d for d in running if d != event.digest)]
            infos = self.registry.images(event.region, event.account, event.repository, digests)
            known = infos
            image: ImageInfo | None = infos[event.digest]
        elif event.tag is not None:
            image = self.registry.by_tag(event.region, event.account, event.repository, event.tag)
            known = self._running_infos(event, running, image)
        else:
            image = None
        out = []
        for p in items:
            if p.outcome is not None:
                out.append(p)
                continue
            chosen = image
            if chosen is None:
                # CloudTrail routes carry no tag or digest: the newest image this target's policy allows.
                policy = p.target.tags
                if policy not in resolved:
                    resolved[policy] = self.registry.newest(
                        event.region, event.account, event.repository, functools.partial(_allows, policy)
                    )
                chosen = resolved[policy]
                if chosen is None:
                    reason = f"no image in {event.repository} is allowed by {policy.describe()}"
                    out.append(replace(p, outcome=_outcome(p.target, event, "skipped", reason)))
                    continue
            elif event.tag is None and not _allows(p.target.tags, chosen):
                reason = p.target.tags.reason(chosen.tags[0] if chosen.tags else None)
                out.append(replace(p, outcome=_outcome(p.target, event, "skipped", reason)))
                continue
            out.append(replace(p, image=chosen))
        if image is None and resolved:
            newest = [i for i in resolved.values() if i is not None]
            if newest:
                known = self._running_infos(event, running, newest[0])
        return out, known

    def _running_infos(self, event: ImageEvent, running: Sequence[str], image: ImageInfo) -> dict[str, ImageInfo]:
        digests = [image.digest, *(d for d in running if d != image.digest)]
        if len(digests) == 1:
            return {image.digest: image}
        return self.registry.images(event.region, event.account, event.repository, digests)

    # ---- apply ----------------------------------------------------------------------------------------------

    def _apply_all(self, items: Sequence[Plan | Outcome], event: ImageEvent, dry_run: bool) -> list[Outcome]:
        work = [i for i in items if isinstance(i, Plan) and i.action in ("register", "force")]
        applied: dict[int, Outcome] = {}
        if work and not dry_run:
            with ThreadPoolExecutor(max_workers=min(self._max_workers, len(work))) as pool:
                futures = {id(plan): pool.submit(self._apply, plan, event) for plan in work}
                applied = {key: f.result() for key, f in futures.items()}
        outcomes = []
        for item in items:
            if isinstance(item, Outcome):
                outcomes.append(item)
            elif id(item) in applied:
                outcomes.append(applied[id(item)])
            else:
                outcomes.append(_plan_outcome(item, event, dry_run))
        return outcomes

    def _apply(self, plan: Plan, event: ImageEvent) -> Outcome:
        t = plan.target
        base = _plan_outcome(plan, event, dry_run=False)
        try:
            if plan.action == "register":
                assert plan.register is not None  # a register plan always carries its parameters
                arn = self.cluster.register(t.region, t.role_arn, plan.register)
                deployment = self.cluster.update(t.region, t.role_arn, t.cluster, t.service, task_definition=arn)
            else:
                arn = plan.current_task_definition or ""
                deployment = self.cluster.update(t.region, t.role_arn, t.cluster, t.service, force=True)
        except AwsError as err:
            return _failed(t, event, err, plan)
        return replace(
            base,
            status="deployed",
            task_definition=arn,
            deployment_id=deployment.id if deployment else None,
        )

    # ---- results ---------------------------------------------------------------------------------------------

    def _alert(self, event: ReplicationFailure) -> Result:
        reason = (
            f"replication of {event.repository}:{event.tag or event.digest} from "
            f"{event.source_region or '?'}/{event.source_account or '?'} FAILED"
        )
        outcome = Outcome("alert", reason, repository=event.repository, tag=event.tag, digest=event.digest)
        log_decision(outcome, event.event_id)
        return Result(event.event_id, "replicate", event.repository, event.tag, event.digest, (outcome,))

    def _finish(self, event: ImageEvent, outcomes: Iterable[Outcome]) -> Result:
        result = Result(event.event_id, event.kind, event.repository, event.tag, event.digest, tuple(outcomes))
        for outcome in result.outcomes:
            log_decision(outcome, event.event_id)
        if result.failed:
            names = ", ".join(f"{o.target} ({o.error_code})" for o in result.failed)
            raise DeployError(
                f"{len(result.failed)} of {len(result.outcomes)} targets failed for {event.repository}: {names}",
                [o.to_dict() for o in result.outcomes],
            )
        return result


def _allows(policy: TagPolicy, image: ImageInfo) -> bool:
    if not image.tags:
        return policy.allows(None)
    return any(policy.allows(tag) for tag in image.tags)


def _allowed_tag(policy: TagPolicy, image: ImageInfo) -> str | None:
    return next((tag for tag in image.tags if policy.allows(tag)), None)


def _running_digests(states: Iterable[ServiceState]) -> list[str]:
    digests: dict[str, None] = {}
    for state in states:
        for container in state.task_definition.get("containerDefinitions", []):
            digest = split_image(str(container.get("image", "")))[3]
            if digest:
                digests[digest] = None
    return list(digests)


def _outcome(target: Target, event: ImageEvent, status: Any, reason: str) -> Outcome:
    return Outcome(
        status,
        reason,
        target=target.key,
        cluster=target.cluster,
        service=target.service,
        region=target.region,
        rule=target.rule,
        strategy=target.strategy,
        repository=event.repository,
        tag=event.tag,
        digest=event.digest,
    )


def _plan_outcome(plan: Plan, event: ImageEvent, dry_run: bool) -> Outcome:
    status = {"unchanged": "unchanged", "skip": "skipped"}.get(plan.action, "planned" if dry_run else "deployed")
    return replace(
        _outcome(plan.target, event, status, plan.reason),
        tag=plan.tag,
        digest=plan.digest,
        previous_task_definition=plan.current_task_definition,
        images=dict(plan.images),
    )


def _failed(target: Target, event: ImageEvent, err: AutodeployError, plan: Plan | None = None) -> Outcome:
    code = err.code if isinstance(err, AwsError) else type(err).__name__
    base = _plan_outcome(plan, event, dry_run=False) if plan else _outcome(target, event, "failed", str(err))
    return replace(base, status="failed", reason=str(err), error_code=code)
