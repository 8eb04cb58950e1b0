"""The executor: applies plans. Its twin, engine/dry_run.py, interprets the same plans without applying them.

Applying a batch of plans, each phase concurrent over the targets:

    claim       (service, digest) once, in one transaction with a check that we still hold the service's lock
                (the deploy claims ahead, concurrently with its image reads; CloudTrail plans are claimed here)
    register    one RegisterTaskDefinition per distinct revision (services sharing a revision share it), then
                each service's lock is re-asserted
    update      UpdateService; a revision no update took is deregistered, a claim that did not deploy released
    record      the deployment, the claim's confirmation and the lock's release in one transaction, while an
                open deployment it supersedes is judged SUPERSEDED

One target's failure is its own failed outcome and never stops the others.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ecr_autodeploy.core.errors import AutodeployError, AwsError, LockLost
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.ledger_items import LOCK_LEASE_SECONDS, OPEN_STATES
from ecr_autodeploy.core.model import Deployment, Provenance, ServiceRef
from ecr_autodeploy.core.outcomes import Outcome, failed_outcome, plan_outcome
from ecr_autodeploy.core.planning import Plan
from ecr_autodeploy.core.records import Claim, DeploymentRecord, ServiceItem
from ecr_autodeploy.core.timefmt import iso
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, caught, concurrently
from ecr_autodeploy.engine.ports import ClusterPort, LedgerPort

logger = logging.getLogger("ecr_autodeploy")
Claims = Mapping[str, Claim | AutodeployError]  # by target key


@frozen
class Applied:
    """The outcome of one plan, and whether the service's lock went with its deployment's record."""

    outcome: Outcome
    released: bool = False


class PlanRunner(Protocol):
    """What the deploy use case hands its plans to (Executor and DryRunExecutor are the two)."""

    def claim(
        self, wanted: Sequence[tuple[ServiceRef, str]], event: ImageEvent, owner: str
    ) -> dict[str, Claim | AutodeployError]:
        """Claim (service, digest) for the services that may deploy, by target key (a dry run claims nothing)."""
        ...

    def run(
        self,
        items: Sequence[Plan | Outcome],
        event: ImageEvent,
        owner: str | None,
        claims: Claims | None = None,
        previous: Mapping[str, ServiceItem | None] | None = None,
    ) -> list[Applied]:
        """Return one Applied per item, in order (an Outcome item stands as it is)."""
        ...


@dataclass
class _Work:
    """One plan on its way through the phases."""

    plan: Plan
    claimed: bool = False
    arn: str | None = None
    deployment: Deployment | None = None
    started: float = 0.0
    result: Applied | None = None
    failure: AutodeployError | None = None  # what stopped it before its update


class Executor:
    """Apply plans to ECS, once per (service, digest) when there is a ledger."""

    def __init__(
        self,
        cluster: ClusterPort,
        ledger: LedgerPort | None,
        *,
        clock: Callable[[], float] = time.time,
        lease: float = LOCK_LEASE_SECONDS,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.cluster = cluster
        self.ledger = ledger
        self._clock = clock
        self._lease = lease
        self._max_workers = max_workers

    def claim(
        self, wanted: Sequence[tuple[ServiceRef, str]], event: ImageEvent, owner: str
    ) -> dict[str, Claim | AutodeployError]:
        """Claim each (service, digest) while re-asserting its lock; return each claim or why it could not be made."""
        ledger = self.ledger
        assert ledger is not None  # claims come with a ledger

        def one(item: tuple[ServiceRef, str]) -> Claim | AutodeployError:
            ref, digest = item
            try:
                return ledger.claim(
                    ref.ledger_key,
                    digest,
                    event.event_id,
                    owner,
                    self._clock(),
                    self._lease,
                    # A person deploying by hand means it, even a digest deployed before.
                    overwrite=event.kind == "manual",
                    holding=True,
                )
            except (AwsError, LockLost) as err:
                return err

        return {
            ref.key: claim for (ref, _), claim in zip(wanted, concurrently(one, wanted, self._max_workers), strict=True)
        }

    def run(
        self,
        items: Sequence[Plan | Outcome],
        event: ImageEvent,
        owner: str | None,
        claims: Claims | None = None,
        previous: Mapping[str, ServiceItem | None] | None = None,
    ) -> list[Applied]:
        """Return one Applied per item: plans that change something applied, the rest as planned.

        `owner` holds the services' locks (None without a ledger: nothing is claimed or recorded); `claims` are
        those the deploy made ahead; `previous` the services' items as their locks found them.
        """
        claims = dict(claims or {})
        ledger = self.ledger if owner is not None else None
        plans = [i for i in items if isinstance(i, Plan)]
        self._release_unused(ledger, [p for p in plans if not p.changes], claims, owner)
        work = [_Work(p) for p in plans if p.changes]
        if ledger is not None and owner is not None:
            self._claim_phase(work, claims, event, owner)
        self._register_phase(work, event, ledger, owner)
        self._update_phase(work, event, ledger, owner)
        if ledger is not None and owner is not None:
            self._record_phase(work, event, ledger, owner, previous or {})
        done = {id(w.plan): w.result for w in work if w.result is not None}
        return [
            Applied(i) if isinstance(i, Outcome) else done.get(id(i)) or Applied(plan_outcome(i, event, dry_run=False))
            for i in items
        ]

    # ---- phases -------------------------------------------------------------------------------------------------

    def _claim_phase(
        self, work: list[_Work], claims: dict[str, Claim | AutodeployError], event: ImageEvent, owner: str
    ) -> None:
        missing = [
            (w.plan.target.ref, w.plan.digest) for w in work if w.plan.target.key not in claims and w.plan.digest
        ]
        claims.update(self.claim([(ref, d) for ref, d in missing if d], event, owner))
        for w in work:
            claim = claims.get(w.plan.target.key)
            base = plan_outcome(w.plan, event, dry_run=False)
            if isinstance(claim, AutodeployError):
                w.result = Applied(failed_outcome(w.plan.target, event, claim, w.plan))
            elif claim is not None and not claim.won:
                w.result = Applied(claimed_before(base, w.plan.target.key, claim))
            else:
                w.claimed = claim is not None

    def _register_phase(
        self, work: list[_Work], event: ImageEvent, ledger: LedgerPort | None, owner: str | None
    ) -> None:
        live = [w for w in work if w.result is None]
        groups: dict[str, list[_Work]] = {}
        for w in live:
            if w.plan.action == "register":
                t = w.plan.target
                # Services on one revision get the same copy of it: one RegisterTaskDefinition serves them all.
                key = json.dumps([t.region, t.role_arn, w.plan.register], sort_keys=True, default=str)
                groups.setdefault(key, []).append(w)
        concurrently(self._register, list(groups.values()), self._max_workers)
        # The lock is re-asserted after the revision is registered, before the service changes: a register that
        # stalled past the lease must not let an older image win (a force plan's claim has just re-asserted it).
        holds = [w for w in live if w.plan.action == "register" and ledger is not None and w.failure is None]
        concurrently(functools.partial(self._hold, ledger=ledger, owner=owner), holds, self._max_workers)
        for w in live:
            if w.failure is not None:
                w.result = Applied(failed_outcome(w.plan.target, event, w.failure, w.plan))

    def _update_phase(self, work: list[_Work], event: ImageEvent, ledger: LedgerPort | None, owner: str | None) -> None:
        live = [w for w in work if w.result is None]

        def update(w: _Work) -> None:
            t = w.plan.target
            w.started = self._clock()
            if w.plan.action == "register":
                w.deployment = self.cluster.update(
                    t.ref, task_definition=w.arn, deployment=w.plan.deployment_configuration
                )
            else:
                w.deployment = self.cluster.update(t.ref, force=True, deployment=w.plan.deployment_configuration)
                # What ECS says it deploys (the service may have moved to another revision since it was read).
                w.arn = (w.deployment.task_definition if w.deployment else None) or w.plan.current_task_definition

        failures = concurrently(caught(update), live, self._max_workers)
        for w, failure in zip(live, failures, strict=True):
            if isinstance(failure, AwsError):
                w.result = Applied(failed_outcome(w.plan.target, event, failure, w.plan))
        for w in work:
            if w.result is not None and w.claimed and ledger is not None and owner is not None:
                self._unclaim(ledger, w.plan.target.ref.ledger_key, w.plan.digest or "", owner)
        self._deregister_unused(work)
        for w in live:
            if w.result is None:
                outcome = replace(
                    plan_outcome(w.plan, event, dry_run=False),
                    status="deployed",
                    task_definition=w.arn,
                    deployment_id=w.deployment.id if w.deployment else None,
                )
                w.result = Applied(outcome)

    def _record_phase(
        self,
        work: list[_Work],
        event: ImageEvent,
        ledger: LedgerPort,
        owner: str,
        previous: Mapping[str, ServiceItem | None],
    ) -> None:
        deployed = [w for w in work if w.result is not None and w.result.outcome.status == "deployed" and w.deployment]
        tasks: list[Callable[[], None]] = []
        for w in deployed:
            before = previous.get(w.plan.target.key)
            # An open deployment before ours is superseded, in the same write; one already judged needs none.
            old = before.deployment_id if before is not None and before.state in OPEN_STATES else None
            supersedes = old if old and w.deployment is not None and old != w.deployment.id else None
            tasks.append(functools.partial(self._record, w, event, ledger, owner, supersedes))
        concurrently(_call, tasks, self._max_workers)

    # ---- steps ------------------------------------------------------------------------------------------------

    def _register(self, group: list[_Work]) -> None:
        first = group[0].plan
        assert first.register is not None
        try:
            arn = self.cluster.register(first.target.ref, first.register)
        except AwsError as err:
            for w in group:
                w.failure = err
            return
        for w in group:
            w.arn = arn

    def _hold(self, w: _Work, ledger: LedgerPort | None, owner: str | None) -> None:
        """Re-assert the service's lock before changing it (extending the lease)."""
        if ledger is None or owner is None:
            return
        t = w.plan.target
        try:
            held = ledger.hold(t.ref.ledger_key, owner, self._clock(), self._lease)
        except AwsError as err:
            w.failure = w.failure or err
            return
        if not held:
            w.failure = w.failure or LockLost(
                f"service {t.key}: another invocation took its lock before the update; nothing changed, retry"
            )

    def _deregister_unused(self, work: list[_Work]) -> None:
        # A revision no deployment uses is clutter (and a retry would register another): take it back.
        used = {w.arn for w in work if w.result is None and w.arn}
        for w in work:
            if w.plan.action == "register" and w.arn and w.arn not in used:
                used.add(w.arn)
                try:
                    self.cluster.deregister(w.plan.target.ref, w.arn)
                except AwsError as err:
                    logger.error(json.dumps({"task_definition": w.arn, "deregister": "failed", "error": str(err)}))

    def _unclaim(self, ledger: LedgerPort, key: str, digest: str, owner: str) -> None:
        try:
            ledger.unclaim(key, digest, owner)
        except AwsError as err:
            logger.error(json.dumps({"service": key, "claim": "release failed", "error": str(err)}))

    def _release_unused(
        self, ledger: LedgerPort | None, plans: Sequence[Plan], claims: Claims, owner: str | None
    ) -> None:
        """Release the claims made ahead for targets whose plan turned out not to deploy."""
        if ledger is None or owner is None:
            return
        unused = [p for p in plans if _won(claims.get(p.target.key))]

        def release(plan: Plan) -> None:
            self._unclaim(ledger, plan.target.ref.ledger_key, plan.digest or "", owner)

        concurrently(release, unused, self._max_workers)

    def _record(self, w: _Work, event: ImageEvent, ledger: LedgerPort, owner: str, supersedes: str | None) -> None:
        assert w.deployment is not None
        assert w.result is not None
        t, plan = w.plan.target, w.plan
        record = DeploymentRecord(
            deployment_id=w.deployment.id,
            ref=t.ref,
            task_definition=w.arn or w.deployment.task_definition,
            started_at=w.started,
            image=Provenance(
                repository=event.repository,
                tag=plan.tag,
                digest=plan.digest,
                account=event.account,
                source_region=event.source_region or event.region,
                source_account=event.source_account or event.account,
            ),
            rule=t.rule,
            rollback=t.rollback,
            strategy=t.strategy,
            previous_task_definition=plan.current_task_definition,
            event_id=event.event_id,
            event_kind=event.kind,
            registry_region=event.region,
        )
        outcome = w.result.outcome
        try:
            # The service's lock is released by the write that records the deployment (one call, not two).
            recorded = ledger.started(record, owner, claimed=w.claimed, release=True, supersedes=supersedes)
        except AwsError as err:
            # The deployment is running; only its record is missing. Say so, and do not undo a real deploy.
            # The lock is left to the caller's release; the deployment it supersedes is judged by the tracker.
            logger.error(json.dumps({"service": t.key, "ledger": "record failed", "error": str(err)}))
            w.result = Applied(replace(outcome, reason=f"{outcome.reason}; ledger record failed: {err}"))
            return
        if not recorded.released:
            logger.warning(json.dumps({"service": t.key, "lock": "lease passed before release"}))
        if recorded.superseded:
            outcome = replace(outcome, reason=f"{outcome.reason}; supersedes deployment {supersedes}")
        w.result = Applied(outcome, released=True)


def _call(task: Callable[[], None]) -> None:
    task()


def _won(claim: Claim | AutodeployError | None) -> bool:
    return isinstance(claim, Claim) and claim.won


def claimed_before(base: Outcome, key: str, claim: Claim) -> Outcome:
    """Return the outcome of a target whose (service, digest) another delivery claimed first."""
    if claim.state == "deployed":
        reason = (
            f"{base.digest} was deployed to {key} by event {claim.event_id} at {iso(claim.claimed_at)}"
            f" (deployment {claim.deployment_id}); one deployment per image and service"
        )
        return replace(base, status="duplicate", reason=reason, deployment_id=claim.deployment_id)
    # Claimed but not confirmed: its claimer may still be deploying, or died; after the lease a retry takes over.
    reason = (
        f"{base.digest} on {key} is claimed by event {claim.event_id} since {iso(claim.claimed_at)}"
        f" and not yet deployed; retry after {iso(claim.lease_until)}"
    )
    return replace(base, status="failed", reason=reason, error_code="ClaimInProgress")
