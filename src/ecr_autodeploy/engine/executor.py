"""Executors: two interpreters of the same plans. Executor applies them; DryRunExecutor only says what it would do.

Applying one plan: claim (service, digest) once in the ledger, RegisterTaskDefinition (pin) and UpdateService,
then record the deployment, releasing the service's lock in the same write. Plans run concurrently; one
target's failure is its own failed outcome and never stops the others.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ecr_autodeploy.core.errors import AwsError, LockLost
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.ledger_items import LOCK_LEASE_SECONDS, Claim
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import Deployment, Provenance, ServiceRef
from ecr_autodeploy.core.outcomes import Outcome, failed_outcome, plan_outcome
from ecr_autodeploy.core.planning import Plan
from ecr_autodeploy.core.timefmt import iso
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, concurrently
from ecr_autodeploy.engine.ports import ClusterPort, LedgerPort

logger = logging.getLogger("ecr_autodeploy")


@dataclass(frozen=True)
class Applied:
    """The outcome of one plan, and whether the service's lock went with its deployment's record."""

    outcome: Outcome
    released: bool = False


class PlanRunner(Protocol):
    """What the deploy use case hands its plans to (Executor and DryRunExecutor are the two)."""

    def run(self, items: Sequence[Plan | Outcome], event: ImageEvent, owner: str | None) -> list[Applied]:
        """Return one Applied per item, in order (an Outcome item stands as it is)."""
        ...


class DryRunExecutor:
    """Say what each plan would do; change nothing. With a ledger, read its claims as a real run would meet them."""

    def __init__(
        self,
        ledger: LedgerPort | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.ledger = ledger
        self._clock = clock
        self._max_workers = max_workers

    def run(self, items: Sequence[Plan | Outcome], event: ImageEvent, owner: str | None) -> list[Applied]:
        """Return the planned outcome of every plan (a duplicate where the ledger already holds the claim)."""
        return [Applied(o) for o in concurrently(functools.partial(self._one, event=event), items, self._max_workers)]

    def _one(self, item: Plan | Outcome, event: ImageEvent) -> Outcome:
        if isinstance(item, Outcome):
            return item
        planned = plan_outcome(item, event, dry_run=True)
        if self.ledger is None or not item.changes or item.digest is None or event.kind == "manual":
            return planned
        try:
            claim = self.ledger.read_claim(item.target.ref.ledger_key, item.digest)
        except AwsError as err:
            return replace(planned, reason=f"{planned.reason}; the ledger's claim could not be read: {err}")
        if claim is None or (
            claim.state == "claimed" and claim.lease_until is not None and claim.lease_until < time.time()
        ):
            return planned
        return _claimed_before(planned, item.target.key, claim)


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

    def run(self, items: Sequence[Plan | Outcome], event: ImageEvent, owner: str | None) -> list[Applied]:
        """Return one Applied per item: plans that change something applied concurrently, the rest as planned.

        `owner` is the holder of the services' locks (None without a ledger: nothing is claimed or recorded).
        """
        work = [i for i in items if isinstance(i, Plan) and i.changes]
        apply = functools.partial(self._apply, event=event, owner=owner)
        applied = dict(zip(map(id, work), concurrently(apply, work, self._max_workers), strict=True))
        return [
            Applied(i) if isinstance(i, Outcome) else applied.get(id(i)) or Applied(plan_outcome(i, event, False))
            for i in items
        ]

    def _apply(self, plan: Plan, event: ImageEvent, owner: str | None) -> Applied:
        t = plan.target
        base = plan_outcome(plan, event, dry_run=False)
        ledger = self.ledger if owner is not None else None
        claimed = False
        if ledger is not None and owner is not None and plan.digest is not None:
            try:
                claim = ledger.claim(
                    t.ref.ledger_key,
                    plan.digest,
                    event.event_id,
                    owner,
                    self._clock(),
                    self._lease,
                    # A person deploying by hand means it, even a digest deployed before.
                    overwrite=event.kind == "manual",
                )
            except AwsError as err:
                return Applied(failed_outcome(t, event, err, plan))
            if not claim.won:
                return Applied(_claimed_before(base, t.key, claim))
            claimed = True
        started = self._clock()
        registered: str | None = None
        try:
            self._still_ours(ledger, t, owner, "registering a revision")
            if plan.action == "register":
                assert plan.register is not None  # a register plan always carries its parameters
                arn = registered = self.cluster.register(t.ref, plan.register)
                self._still_ours(ledger, t, owner, "updating the service")
                deployment = self.cluster.update(t.ref, task_definition=arn, deployment=plan.deployment_configuration)
            else:
                arn = plan.current_task_definition or ""
                self._still_ours(ledger, t, owner, "updating the service")
                deployment = self.cluster.update(t.ref, force=True, deployment=plan.deployment_configuration)
        except (AwsError, LockLost) as err:
            if registered is not None:
                self._deregister(t.ref, registered)
            if ledger is not None and claimed:
                self._unclaim(ledger, t.ref.ledger_key, plan.digest or "", owner or "")
            return Applied(failed_outcome(t, event, err, plan))
        outcome = replace(
            base, status="deployed", task_definition=arn, deployment_id=deployment.id if deployment else None
        )
        if ledger is None or owner is None or deployment is None:
            return Applied(outcome)
        return self._record(ledger, outcome, plan, event, deployment, started, owner, claimed)

    def _still_ours(self, ledger: LedgerPort | None, t: Target, owner: str | None, step: str) -> None:
        """Re-assert the service's lock before changing it (extending the lease); raise LockLost when it is gone."""
        if ledger is None or owner is None:
            return
        if not ledger.hold(t.ref.ledger_key, owner, self._clock(), self._lease):
            raise LockLost(f"service {t.key}: another invocation took its lock before {step}; nothing changed, retry")

    def _deregister(self, where: ServiceRef, arn: str) -> None:
        # A revision no deployment uses is clutter (and a retry would register another): take it back.
        try:
            self.cluster.deregister(where, arn)
        except AwsError as err:
            logger.error(json.dumps({"task_definition": arn, "deregister": "failed", "error": str(err)}))

    def _unclaim(self, ledger: LedgerPort, key: str, digest: str, owner: str) -> None:
        try:
            ledger.unclaim(key, digest, owner)
        except AwsError as err:
            logger.error(json.dumps({"service": key, "claim": "release failed", "error": str(err)}))

    def _record(
        self,
        ledger: LedgerPort,
        outcome: Outcome,
        plan: Plan,
        event: ImageEvent,
        deployment: Deployment,
        started: float,
        owner: str,
        claimed: bool,
    ) -> Applied:
        from ecr_autodeploy.core.records import DeploymentRecord  # loaded once something is deployed

        t = plan.target
        record = DeploymentRecord(
            deployment_id=deployment.id,
            ref=t.ref,
            task_definition=outcome.task_definition or deployment.task_definition,
            started_at=started,
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
        )
        try:
            # The service's lock is released by the write that records the deployment (one call, not two).
            recorded = ledger.started(record, owner, claimed=claimed, release=True)
        except AwsError as err:
            # The deployment is running; only its record is missing. Say so, and do not undo a real deploy.
            # The lock is left to the caller's release.
            logger.error(json.dumps({"service": t.key, "ledger": "record failed", "error": str(err)}))
            return Applied(replace(outcome, reason=f"{outcome.reason}; ledger record failed: {err}"))
        if not recorded.released:
            logger.warning(json.dumps({"service": t.key, "lock": "lease passed before release"}))
        if recorded.superseded:
            outcome = replace(outcome, reason=f"{outcome.reason}; supersedes deployment {recorded.superseded}")
        return Applied(outcome, released=True)


def _claimed_before(base: Outcome, key: str, claim: Claim) -> Outcome:
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
