"""Roll a FAILED or timed-out deployment back (rules with rollback: true).

The decision is core.rollout's, made on a fresh DescribeServices under the service lock, so a rollback never
lands on top of a newer deployment and never races ECS's own circuit-breaker rollback. A service on a native
strategy (BLUE_GREEN, LINEAR, CANARY) is rolled back the way ECS does it, by stopping the service deployment with
rollback (StopServiceDeployment ROLLBACK), not by a revision swap that would start a second traffic shift.
"""

from __future__ import annotations

import uuid

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.model import Deployment, ServiceRef
from ecr_autodeploy.core.rollout import OPEN_STATUSES, RollbackDecision, decide_rollback
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.engine.gather import Gather
from ecr_autodeploy.engine.locks import ServiceLocks


@frozen
class RollbackRequest:
    """Which deployment ended how, on which service, and whether its rule asks for a rollback."""

    ref: ServiceRef
    deployment_id: str
    state: str
    task_definition: str
    previous_task_definition: str | None
    wanted: bool
    ecs_rolled_back: bool = False
    ecs_acting: bool = False  # ECS bakes, pauses or rolls back the deployment itself
    service_deployment_arn: str | None = None
    manual: bool = False  # a person asks (ecr-autodeploy rollback), whatever the rule and the circuit breaker say


@frozen
class RollbackResult:
    """What was decided and, when rolled back, the deployment ECS started for it."""

    decision: RollbackDecision
    deployment: Deployment | None = None
    error: str | None = None
    stopped: str | None = None  # the service deployment stopped with rollback (native strategies)

    @property
    def rolled_back(self) -> bool:
        """Return True when the service was pointed back at the previous revision, or its deployment stopped."""
        return self.deployment is not None or self.stopped is not None


class Rollback:
    """Apply rollback decisions to ECS."""

    def __init__(self, gather: Gather, locks: ServiceLocks | None) -> None:
        self.gather = gather
        self.locks = locks

    def run(self, request: RollbackRequest) -> RollbackResult:
        """Return what was done; AWS failures are reported in the result, not raised (the rollout is judged)."""
        r = request
        if not r.wanted or r.ecs_rolled_back or r.ecs_acting:
            return RollbackResult(_decide(r, breaker_rollback=False, current=None))
        owner = uuid.uuid4().hex
        key = r.ref.ledger_key
        if self.locks is not None:
            lock = self.locks.acquire(key, owner)
            if not lock.acquired:
                decision = RollbackDecision(False, f"service {key} is locked by another deployment; not rolled back")
                return RollbackResult(decision, error="ServiceLocked")
        try:
            try:
                service = self.gather.services([r.ref])[r.ref]
                if isinstance(service, AwsError):
                    raise service
                decision = _decide(
                    r,
                    breaker_rollback=service.circuit_breaker and service.circuit_breaker_rollback,
                    current=service.task_definition_arn,
                    native=service.native,
                )
                if not decision.roll_back:
                    return RollbackResult(decision)
                if service.native and (not r.manual or self._open(r)):
                    return self._stop(r, decision)
                assert r.previous_task_definition is not None  # decide_rollback requires it
                deployment = self.gather.cluster.update(r.ref, task_definition=r.previous_task_definition)
            except AwsError as err:
                return RollbackResult(RollbackDecision(False, f"rollback failed: {err}"), error=err.code)
            return RollbackResult(decision, deployment)
        finally:
            if self.locks is not None:
                self.locks.release([key], owner)

    def _open(self, r: RollbackRequest) -> bool:
        """Return True when the deployment's service deployment is known and still open (it can be stopped)."""
        arn = r.service_deployment_arn
        found = (self.gather.cluster.service_deployments(r.ref, [arn]) or {}).get(arn) if arn else None
        return found is not None and found.status in OPEN_STATUSES

    def _stop(self, r: RollbackRequest, decision: RollbackDecision) -> RollbackResult:
        """Stop the deployment's service deployment with rollback (AwsError raised when ECS refuses)."""
        arn = r.service_deployment_arn
        if arn is None:
            return RollbackResult(RollbackDecision(False, "its service deployment is not known; not rolled back"))
        found = (self.gather.cluster.service_deployments(r.ref, [arn]) or {}).get(arn)
        if found is not None and found.status not in OPEN_STATUSES:
            # A finished service deployment cannot be stopped (ECS answers ConflictException).
            reason = f"its service deployment is {found.status}: nothing to stop; not rolled back"
            return RollbackResult(RollbackDecision(False, reason))
        self.gather.cluster.stop_service_deployment(r.ref, arn, rollback=True)
        return RollbackResult(decision, stopped=arn)


def _decide(
    r: RollbackRequest, *, breaker_rollback: bool, current: str | None, native: bool = False
) -> RollbackDecision:
    return decide_rollback(
        wanted=r.wanted,
        state=r.state,
        ecs_rolled_back=r.ecs_rolled_back,
        breaker_rollback=breaker_rollback,
        ours=r.task_definition,
        current=current,
        previous=r.previous_task_definition,
        ecs_acting=r.ecs_acting,
        native=native,
        manual=r.manual,
    )
