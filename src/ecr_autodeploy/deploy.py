"""The use case shared by the Lambda and the CLI: event -> targets -> gathered state -> plans -> applied outcomes.

Gather (batched, concurrent) -> decide (pure, core.planning) -> apply (concurrent, bounded). One target's
failure does not stop the others; afterwards DeployError is raised so Lambda retries the event, and the retry
is a no-op for the targets already running the digest.

With a ledger (the Lambda's DynamoDB table, AUTODEPLOY_LEDGER_TABLE) each service is locked for the short
gather -> register -> update section, so two events for one service never interleave (no lost update between
two repositories, no older image landing last), and (service, digest) is claimed with a conditional write, so
duplicate deliveries give exactly one deployment. ECS itself supersedes a rollout still in progress with the
new one; the ledger marks the older record SUPERSEDED. docs/safety.md tells the whole story.
"""

from __future__ import annotations

import functools
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.errors import AutodeployError, AwsError, DeployError, NotFoundError
from ecr_autodeploy.core.events import Ignored, ImageEvent, ReplicationFailure, parse_event
from ecr_autodeploy.core.ledger import (
    LOCK_LEASE_SECONDS,
    LOCK_WAIT_SECONDS,
    Claim,
    Lock,
    Recorded,
    service_key,
)
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.planning import Deployment, ImageInfo, Plan, ServiceState, plan_target, split_image
from ecr_autodeploy.core.tags import TagPolicy
from ecr_autodeploy.outcomes import Outcome, Result, log_decision

if TYPE_CHECKING:
    from ecr_autodeploy.core.notify import Message, MessageKind
    from ecr_autodeploy.core.records import DeploymentRecord, ServiceRecord

# Concurrent AWS calls per phase: at most the connections one client keeps (aws/clients.py RETRY_CONFIG,
# max_pool_connections=32); beyond that urllib3 discards connections and every extra call opens a new one.
MAX_WORKERS = 32
# DescribeServices takes at most 10 services a call: each batch is a task of its own, so they run at once.
SERVICES_PER_DESCRIBE = 10
LOCK_POLL_SECONDS = 0.05  # first wait for a busy service; doubles up to LOCK_POLL_MAX_SECONDS
LOCK_POLL_MAX_SECONDS = 1.0
LEDGER_OFF_NOTE = (
    "ledger off (AUTODEPLOY_LEDGER_TABLE is not set): duplicate deliveries are not claimed once and deploys to "
    "one service are not serialised"
)
logger = logging.getLogger("ecr_autodeploy")


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


class LedgerPort(Protocol):
    """What the deploy path records in the ledger (aws.ledger.Ledger is one)."""

    def lock(self, key: str, owner: str, now: float, lease: float) -> Lock:
        """Take a service's lock; return who holds it when it is taken."""
        ...

    def unlock(self, key: str, owner: str) -> bool:
        """Release a service's lock; return False when the lease had passed and another took it."""
        ...

    def claim(
        self, key: str, digest: str, event_id: str, owner: str, now: float, lease: float, *, overwrite: bool = False
    ) -> Claim:
        """Claim (service, digest) once; return the earlier claim when another won."""
        ...

    def unclaim(self, key: str, digest: str, owner: str) -> None:
        """Drop our claim after a deploy that did not start."""
        ...

    def started(self, record: DeploymentRecord, owner: str, *, claimed: bool, release: bool = False) -> Recorded:
        """Record a started deployment (with `release`, freeing owner's lock in the same write); say what it did."""
        ...

    def deployment(self, deployment_id: str) -> DeploymentRecord | None:
        """Return the record of a deployment we started, or None."""
        ...

    def progress(self, deployment_id: str) -> bool:
        """Move a record from STARTED to IN_PROGRESS; return False when it had moved on."""
        ...

    def finish(
        self,
        deployment_id: str,
        state: str,
        reason: str,
        now: float,
        extra: Mapping[str, Any] | None = None,
        *,
        service: bool = True,
    ) -> DeploymentRecord | None:
        """Judge an open record once; return it, or None when judged before."""
        ...

    def note(self, deployment_id: str, values: Mapping[str, Any]) -> None:
        """Add attributes to a deployment record."""
        ...

    def services(self, keys: Iterable[str]) -> dict[str, ServiceRecord]:
        """Return the per-service items of these services."""
        ...

    def first_notice(self, key: str, digest: str, now: float) -> bool:
        """Return True the first time (within a day) a drift of (service, digest) is noticed."""
        ...


class NotifierPort(Protocol):
    """Where messages go (aws.notify.Notifier is one); must not raise."""

    def notify(self, message: Message) -> Sequence[object]:
        """Deliver one message to every channel; return what happened on each."""
        ...


StateReader = Callable[[Mapping[str, Any], str, str, Mapping[str, Any], Sequence[Any]], ServiceState]
_Group = tuple[str, str | None, str]  # (region, role ARN, cluster): what one DescribeServices call can cover
_T = TypeVar("_T")
_R = TypeVar("_R")


def concurrently(work: Callable[[_T], _R], items: Sequence[_T], max_workers: int) -> list[_R]:
    """Return work(item) for every item, in order: in this thread for one item, else on up to max_workers threads.

    Raise what the first failing item (in order) raised, once every item has run.
    """
    if len(items) < 2:
        # Starting and joining a thread costs more than the engine's own work on a one-target event.
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        # Not pool.map: it cancels the items not yet started when one fails, and every item must run.
        futures = [pool.submit(work, item) for item in items]
        return [f.result() for f in futures]


def _caught(work: Callable[[_T], _R]) -> Callable[[_T], _R | AwsError]:
    """Return `work` returning, not raising, its AwsError: one target's failure must not stop the others."""

    def run(item: _T) -> _R | AwsError:
        try:
            return work(item)
        except AwsError as err:
            return err

    return run


@dataclass(frozen=True)
class _Prepared:
    """A target with its gathered state, or the outcome that ends it early."""

    target: Target
    state: ServiceState | None = None
    image: ImageInfo | None = None
    outcome: Outcome | None = None


@dataclass(frozen=True)
class _Holder:
    """This invocation as the holder of service locks: its owner id, and the services it no longer holds."""

    owner: str
    # Target keys whose lock went with their deployment's record (or whose lease had passed by then); filled
    # from the apply threads, read once they are done.
    let_go: set[str] = field(default_factory=set)


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
        ledger: LedgerPort | None = None,
        notifier: NotifierPort | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        lock_wait: float = LOCK_WAIT_SECONDS,
        lock_lease: float = LOCK_LEASE_SECONDS,
    ) -> None:
        self.config = config
        self.registry = registry
        self.cluster = cluster
        self.ledger = ledger
        self.notifier = notifier
        self._state = state_reader
        self._max_workers = max_workers
        self._clock = clock
        self._sleep = sleep
        self._lock_wait = lock_wait
        self._lock_lease = lock_lease

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
            outcomes.extend(self.apply_targets(event, targets, dry_run=dry_run))
        return self._finish(event, outcomes, dry_run)

    def deploy_targets(self, event: ImageEvent, targets: Sequence[Target], *, dry_run: bool = False) -> Result:
        """Deploy an image to explicitly given targets (the CLI's manual deploy); same engine as events."""
        return self._finish(event, self.apply_targets(event, targets, dry_run=dry_run), dry_run)

    def apply_targets(self, event: ImageEvent, targets: Sequence[Target], *, dry_run: bool = False) -> list[Outcome]:
        """Return the outcome per target (in order), deploying unless dry_run; neither logs, notifies nor raises."""
        unique = list({t.key: t for t in targets}.values())
        if dry_run or self.ledger is None:
            return self._apply_all(self.plan(event, unique), event, dry_run, None)
        return self._serialised(event, unique, self.ledger)

    @property
    def notes(self) -> tuple[str, ...]:
        """Return what a person should know about how deploys run (the ledger being off)."""
        return () if self.ledger is not None else (LEDGER_OFF_NOTE,)

    # ---- gather and decide --------------------------------------------------------------------------------

    def plan(
        self, event: ImageEvent, targets: Sequence[Target], last: Mapping[str, str] | None = None
    ) -> list[Plan | Outcome]:
        """Return a Plan for every target that reached planning, or the Outcome that ended it earlier.

        `last` maps target keys to the digest last deployed there by a force deploy (from the ledger): a force
        task definition names a tag, so this is the only way to see that an arriving image is older.
        """
        last = last or {}
        prepared = self._gather_services(event, [self._tag_gate(event, t) for t in targets])
        prepared, running = self._gather_images(event, prepared, list(last.values()))
        result: list[Plan | Outcome] = []
        for p in prepared:
            if p.outcome is not None:
                result.append(p.outcome)
                continue
            # The gather steps set both whenever they leave no outcome.
            assert p.state is not None
            assert p.image is not None
            try:
                planned = plan_target(
                    p.target,
                    p.state,
                    p.image,
                    event.registry,
                    tag=event.tag or _allowed_tag(p.target.tags, p.image),
                    event_id=event.event_id,
                    running=running,
                )
                result.append(_force_order(planned, last.get(p.target.key), p.image, running))
            except AutodeployError as err:
                result.append(_failed(p.target, event, err))
        return result

    def _tag_gate(self, event: ImageEvent, target: Target) -> _Prepared:
        if event.tag is not None and not target.tags.allows(event.tag):
            return _Prepared(target, outcome=_outcome(target, event, "skipped", target.tags.reason(event.tag)))
        return _Prepared(target)

    def _gather_services(self, event: ImageEvent, items: list[_Prepared]) -> list[_Prepared]:
        live = [p for p in items if p.outcome is None]
        groups: dict[_Group, list[str]] = {}
        for p in live:
            groups.setdefault((p.target.region, p.target.role_arn, p.target.cluster), []).append(p.target.service)

        batches = [
            (key, names[start : start + SERVICES_PER_DESCRIBE])
            for key, names in groups.items()
            for start in range(0, len(names), SERVICES_PER_DESCRIBE)
        ]

        def describe(batch: tuple[_Group, list[str]]) -> Mapping[str, Mapping[str, Any] | NotFoundError]:
            (region, role_arn, cluster), names = batch
            return self.cluster.services(region, role_arn, cluster, names)

        found: dict[_Group, dict[str, Mapping[str, Any] | NotFoundError] | AwsError] = {}
        for (key, _), answer in zip(batches, concurrently(_caught(describe), batches, self._max_workers), strict=True):
            merged = found.setdefault(key, {})
            if isinstance(merged, AwsError):
                continue  # a group's first failing batch fails the group, as when one call described it all
            if isinstance(answer, AwsError):
                found[key] = answer
            else:
                merged.update(answer)
        svc_of: dict[str, Mapping[str, Any] | AwsError] = {}
        for p in live:
            group = found[(p.target.region, p.target.role_arn, p.target.cluster)]
            svc_of[p.target.key] = group if isinstance(group, AwsError) else group[p.target.service]
        td_keys = list(
            {
                (p.target.region, p.target.role_arn, str(svc["taskDefinition"])): None
                for p in live
                if not isinstance(svc := svc_of[p.target.key], AwsError)
            }
        )

        def read_task_definition(key: tuple[str, str | None, str]) -> tuple[dict[str, Any], list[Any]]:
            return self.cluster.task_definition(*key)

        described = concurrently(_caught(read_task_definition), td_keys, self._max_workers)
        tds = dict(zip(td_keys, described, strict=True))
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

    def _gather_images(
        self, event: ImageEvent, items: list[_Prepared], also: Sequence[str] = ()
    ) -> tuple[list[_Prepared], dict[str, ImageInfo]]:
        """Resolve the arrived image and, in the same call, the images the services run now (by digest)."""
        live = [p for p in items if p.outcome is None]
        known: dict[str, ImageInfo] = {}
        if not live:
            return items, known
        running = list(dict.fromkeys([*_running_digests(p.state for p in live if p.state is not None), *also]))
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

    # ---- serialise per service ---------------------------------------------------------------------------------

    def _serialised(self, event: ImageEvent, targets: Sequence[Target], ledger: LedgerPort) -> list[Outcome]:
        """Lock, gather, plan, apply and unlock in rounds; a busy service waits for the next round.

        No round holds one lock while waiting for another, so two events fanning out to the same services in
        any order cannot deadlock; a service still busy after lock_wait fails (Lambda retries the event).
        """
        holder = _Holder(uuid.uuid4().hex)
        done: dict[str, Outcome] = {}
        pending = []
        for t in targets:
            gate = self._tag_gate(event, t).outcome
            if gate is None:
                pending.append(t)
            else:
                done[t.key] = gate  # a refused tag needs no lock
        deadline = self._clock() + self._lock_wait
        delay = LOCK_POLL_SECONDS
        while pending:
            held, busy = self._lock_all(event, pending, ledger, holder.owner, done)
            if held:
                try:
                    plans = self._plan_held(event, held, ledger, done)
                    live = [t for t in held if t.key not in done]
                    for target, outcome in zip(live, self._apply_all(plans, event, False, holder), strict=True):
                        done[target.key] = outcome
                finally:
                    self._unlock_all([t for t in held if t.key not in holder.let_go], ledger, holder.owner)
            pending = [t for t, _ in busy]
            if not pending:
                break
            if self._clock() >= deadline:
                for t, lock in busy:
                    since = f" until {_iso(lock.until)}" if lock.until else ""
                    reason = f"service {t.key} is being deployed by another invocation{since}; retry later"
                    done[t.key] = replace(_outcome(t, event, "failed", reason), error_code="ServiceLocked")
                break
            self._sleep(min(delay, max(0.0, deadline - self._clock())))
            delay = min(delay * 2, LOCK_POLL_MAX_SECONDS)
        return [done[t.key] for t in targets]

    def _plan_held(
        self, event: ImageEvent, held: Sequence[Target], ledger: LedgerPort, done: dict[str, Outcome]
    ) -> list[Plan | Outcome]:
        """Plan the locked targets; force targets also get the digest last deployed there (read under the lock)."""
        forced = {service_key(t): t for t in held if t.strategy == "force"}
        last: dict[str, str] = {}
        if forced:
            try:
                records = ledger.services(forced)
            except AwsError as err:
                for t in forced.values():
                    done[t.key] = _failed(t, event, err)
                held = [t for t in held if t.key not in done]
                records = {}
            last = {
                forced[k].key: r.digest for k, r in records.items() if r.digest and r.repository == event.repository
            }
        return self.plan(event, held, last) if held else []

    def _lock_all(
        self, event: ImageEvent, targets: Sequence[Target], ledger: LedgerPort, owner: str, done: dict[str, Outcome]
    ) -> tuple[list[Target], list[tuple[Target, Lock]]]:
        now = self._clock()

        def take(t: Target) -> Lock:
            return ledger.lock(service_key(t), owner, now, self._lock_lease)

        held: list[Target] = []
        busy: list[tuple[Target, Lock]] = []
        for t, lock in zip(targets, concurrently(_caught(take), targets, self._max_workers), strict=True):
            if isinstance(lock, AwsError):
                done[t.key] = _failed(t, event, lock)
                continue
            if lock.acquired:
                held.append(t)
            else:
                busy.append((t, lock))
        return held, busy

    def _unlock_all(self, targets: Sequence[Target], ledger: LedgerPort, owner: str) -> None:
        """Release the locks still held (a deployed target's went with its record), concurrently; never raise."""

        def unlock(t: Target) -> None:
            try:
                if not ledger.unlock(service_key(t), owner):
                    logger.warning(json.dumps({"service": t.key, "lock": "lease passed before release"}))
            except AwsError as err:
                # The lease frees the service anyway; the outcome of the deploy stands.
                logger.error(json.dumps({"service": t.key, "lock": "release failed", "error": str(err)}))

        concurrently(unlock, targets, self._max_workers)

    # ---- apply ----------------------------------------------------------------------------------------------

    def _apply_all(
        self, items: Sequence[Plan | Outcome], event: ImageEvent, dry_run: bool, holder: _Holder | None
    ) -> list[Outcome]:
        work = [i for i in items if isinstance(i, Plan) and i.action in ("register", "force")]
        applied: dict[int, Outcome] = {}
        if work and not dry_run:
            results = concurrently(functools.partial(self._apply, event=event, holder=holder), work, self._max_workers)
            applied = {id(plan): outcome for plan, outcome in zip(work, results, strict=True)}
        outcomes = []
        for item in items:
            if isinstance(item, Outcome):
                outcomes.append(item)
            elif id(item) in applied:
                outcomes.append(applied[id(item)])
            else:
                outcomes.append(_plan_outcome(item, event, dry_run))
        return outcomes

    def _apply(self, plan: Plan, event: ImageEvent, holder: _Holder | None) -> Outcome:
        t = plan.target
        base = _plan_outcome(plan, event, dry_run=False)
        claimed = False
        owner = holder.owner if holder is not None else None
        if self.ledger is not None and owner is not None and plan.digest is not None:
            try:
                claim = self.ledger.claim(
                    service_key(t),
                    plan.digest,
                    event.event_id,
                    owner,
                    self._clock(),
                    self._lock_lease,
                    # A person deploying by hand means it, even a digest deployed before.
                    overwrite=event.kind == "manual",
                )
            except AwsError as err:
                return _failed(t, event, err, plan)
            if not claim.won:
                return self._claimed_before(base, t, claim)
            claimed = True
        started = self._clock()
        try:
            if plan.action == "register":
                assert plan.register is not None  # a register plan always carries its parameters
                arn = self.cluster.register(t.region, t.role_arn, plan.register)
                deployment = self.cluster.update(t.region, t.role_arn, t.cluster, t.service, task_definition=arn)
            else:
                arn = plan.current_task_definition or ""
                deployment = self.cluster.update(t.region, t.role_arn, t.cluster, t.service, force=True)
        except AwsError as err:
            if claimed:
                self._unclaim(t, plan.digest or "", owner or "")
            return _failed(t, event, err, plan)
        outcome = replace(
            base,
            status="deployed",
            task_definition=arn,
            deployment_id=deployment.id if deployment else None,
        )
        if self.ledger is not None and holder is not None and deployment is not None:
            outcome = self._record(outcome, plan, event, deployment, started, holder, claimed)
        return outcome

    def _claimed_before(self, base: Outcome, t: Target, claim: Claim) -> Outcome:
        if claim.state == "deployed":
            reason = (
                f"{base.digest} was deployed to {t.key} by event {claim.event_id} at {_iso(claim.claimed_at)}"
                f" (deployment {claim.deployment_id}); one deployment per image and service"
            )
            return replace(base, status="duplicate", reason=reason, deployment_id=claim.deployment_id)
        # Claimed but not confirmed: its claimer may still be deploying, or died; after the lease a retry takes over.
        reason = (
            f"{base.digest} on {t.key} is claimed by event {claim.event_id} since {_iso(claim.claimed_at)}"
            f" and not yet deployed; retry after {_iso(claim.lease_until)}"
        )
        return replace(base, status="failed", reason=reason, error_code="ClaimInProgress")

    def _unclaim(self, t: Target, digest: str, owner: str) -> None:
        assert self.ledger is not None
        try:
            self.ledger.unclaim(service_key(t), digest, owner)
        except AwsError as err:
            logger.error(json.dumps({"service": t.key, "claim": "release failed", "error": str(err)}))

    def _record(
        self,
        outcome: Outcome,
        plan: Plan,
        event: ImageEvent,
        deployment: Deployment,
        started: float,
        holder: _Holder,
        claimed: bool,
    ) -> Outcome:
        from ecr_autodeploy.core.records import DeploymentRecord  # loaded once something is deployed

        assert self.ledger is not None
        t = plan.target
        record = DeploymentRecord(
            deployment_id=deployment.id,
            service_key=service_key(t),
            region=t.region,
            cluster=t.cluster,
            service=t.service,
            task_definition=outcome.task_definition or deployment.task_definition,
            started_at=started,
            role_arn=t.role_arn,
            rule=t.rule,
            rollback=t.rollback,
            strategy=t.strategy,
            repository=event.repository,
            tag=plan.tag,
            digest=plan.digest,
            previous_task_definition=plan.current_task_definition,
            event_id=event.event_id,
            event_kind=event.kind,
            account=event.account,
            source_region=event.source_region or event.region,
            source_account=event.source_account or event.account,
        )
        try:
            # The service's lock is released by the write that records the deployment (one call, not two).
            recorded = self.ledger.started(record, holder.owner, claimed=claimed, release=True)
        except AwsError as err:
            # The deployment is running; only its record is missing. Say so, and do not undo a real deploy.
            # The lock is left to _unlock_all.
            logger.error(json.dumps({"service": t.key, "ledger": "record failed", "error": str(err)}))
            return replace(outcome, reason=f"{outcome.reason}; ledger record failed: {err}")
        holder.let_go.add(t.key)
        if not recorded.released:
            logger.warning(json.dumps({"service": t.key, "lock": "lease passed before release"}))
        if recorded.superseded:
            return replace(outcome, reason=f"{outcome.reason}; supersedes deployment {recorded.superseded}")
        return outcome

    # ---- results ---------------------------------------------------------------------------------------------

    def _alert(self, event: ReplicationFailure) -> Result:
        reason = (
            f"replication of {event.repository}:{event.tag or event.digest} from "
            f"{event.source_region or '?'}/{event.source_account or '?'} FAILED"
        )
        outcome = Outcome(
            "alert", reason, region=event.region, repository=event.repository, tag=event.tag, digest=event.digest
        )
        log_decision(outcome, event.event_id)
        if self.notifier is None:
            return Result(event.event_id, "replicate", event.repository, event.tag, event.digest, (outcome,))
        from ecr_autodeploy.core.notify import Message, repository_console_url

        self.send(
            [
                Message(
                    "replication_failed",
                    "replication FAILED",
                    reason,
                    repository=event.repository,
                    tag=event.tag,
                    digest=event.digest,
                    region=event.region,
                    account=event.account,
                    source_region=event.source_region,
                    source_account=event.source_account,
                    console_url=repository_console_url(event.region, event.account, event.repository),
                )
            ]
        )
        return Result(event.event_id, "replicate", event.repository, event.tag, event.digest, (outcome,))

    def send(self, messages: Sequence[Message]) -> None:
        """Deliver messages concurrently; a failing notifier is logged and never stops the caller."""
        notifier = self.notifier
        if notifier is None or not messages:
            return

        def deliver(message: Message) -> None:
            try:
                notifier.notify(message)
            except Exception as err:  # noqa: BLE001 - a notifier must never fail or repeat a deployment
                logger.error(json.dumps({"notify": "failed", "kind": message.kind, "error": type(err).__name__}))

        concurrently(deliver, messages, self._max_workers)

    def _finish(self, event: ImageEvent, outcomes: Iterable[Outcome], dry_run: bool = False) -> Result:
        notes = self.notes if not dry_run else ()
        result = Result(event.event_id, event.kind, event.repository, event.tag, event.digest, tuple(outcomes), notes)
        for outcome in result.outcomes:
            log_decision(outcome, event.event_id)
        for note in notes:
            logger.warning(json.dumps({"event_id": event.event_id, "note": note}))
        if not dry_run and self.notifier is not None:
            now = self._clock()
            self.send([m for o in result.outcomes if (m := event_message(o, event, now)) is not None])
        if result.failed:
            names = ", ".join(f"{o.target} ({o.error_code})" for o in result.failed)
            raise DeployError(
                f"{len(result.failed)} of {len(result.outcomes)} targets failed for {event.repository}: {names}",
                [o.to_dict() for o in result.outcomes],
            )
        return result


def _force_order(plan: Plan, last: str | None, image: ImageInfo, known: Mapping[str, ImageInfo]) -> Plan:
    """Return a force plan turned into unchanged/skip when the digest last forced there is this one or newer."""
    if plan.action != "force" or last is None:
        return plan
    if last == image.digest:
        return replace(plan, action="unchanged", reason=f"the last force deployment here was of {image.digest}")
    previous = known.get(last)
    newer = previous is not None and previous.pushed_at and image.pushed_at and previous.pushed_at > image.pushed_at
    if newer and not plan.target.allow_downgrade:
        assert previous is not None  # newer implies it
        reason = (
            f"last forced {last} pushed {_iso_dt(previous.pushed_at)}, newer than {image.digest} pushed "
            f"{_iso_dt(image.pushed_at)}; set allow_downgrade: true to deploy older images"
        )
        return replace(plan, action="skip", reason=reason)
    return plan


def _iso_dt(when: datetime | None) -> str:
    return when.isoformat() if when else "at an unknown time"


def event_message(outcome: Outcome, event: ImageEvent, now: float) -> Message | None:
    """Return the notification for a deployment this event started or failed to start, else None."""
    from ecr_autodeploy.core.notify import Message, service_console_url  # loaded only by functions that notify

    kind: MessageKind
    if outcome.status == "deployed":
        kind, text = "started", "deployment started"
    elif outcome.status == "failed" and outcome.service is not None:
        kind, text = "failed", "deployment could not start"
    else:
        return None
    return Message(
        kind,
        text,
        outcome.reason,
        repository=outcome.repository,
        tag=outcome.tag,
        digest=outcome.digest,
        region=outcome.region,
        account=event.account,
        source_region=event.source_region or event.region,
        source_account=event.source_account or event.account,
        cluster=outcome.cluster,
        service=outcome.service,
        task_definition=outcome.task_definition or outcome.previous_task_definition,
        deployment_id=outcome.deployment_id,
        duration_seconds=_since(event.time, now),
        console_url=service_console_url(outcome.region or event.region, outcome.cluster or "", outcome.service or ""),
    )


def _since(iso: str, now: float) -> float | None:
    """Return seconds from an event's ISO time to `now` (None when the time is missing or unreadable)."""
    try:
        when = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, now - when.timestamp())


def _iso(when: float | None) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds") if when is not None else "?"


def _allows(policy: TagPolicy, image: ImageInfo) -> bool:
    return policy.allows_any(image.tags)


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
