"""Roll a FAILED or timed-out deployment back to the previous task-definition revision (rules with rollback: true).

The decision is core.rollback's, made on a fresh DescribeServices under the service lock, so a rollback never
lands on top of a newer deployment and never races ECS's own circuit-breaker rollback.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.ledger import LOCK_LEASE_SECONDS, LOCK_WAIT_SECONDS, Lock
from ecr_autodeploy.core.planning import Deployment
from ecr_autodeploy.core.rollback import RollbackDecision, decide_rollback
from ecr_autodeploy.deploy import LOCK_POLL_MAX_SECONDS, LOCK_POLL_SECONDS, ClusterPort, LedgerPort, StateReader

logger = logging.getLogger("ecr_autodeploy")


@dataclass(frozen=True)
class RollbackRequest:
    """Which deployment ended how, on which service, and whether its rule asks for a rollback."""

    region: str
    role_arn: str | None
    cluster: str
    service: str
    key: str
    deployment_id: str
    state: str
    task_definition: str
    previous_task_definition: str | None
    wanted: bool
    ecs_rolled_back: bool = False


@dataclass(frozen=True)
class RollbackResult:
    """What was decided and, when rolled back, the deployment ECS started for it."""

    decision: RollbackDecision
    deployment: Deployment | None = None
    error: str | None = None

    @property
    def rolled_back(self) -> bool:
        """Return True when the service was pointed back at the previous revision."""
        return self.deployment is not None


class Rollback:
    """Apply rollback decisions to ECS."""

    def __init__(
        self,
        cluster: ClusterPort,
        state_reader: StateReader,
        ledger: LedgerPort | None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        lock_wait: float = LOCK_WAIT_SECONDS,
        lock_lease: float = LOCK_LEASE_SECONDS,
    ) -> None:
        self.cluster = cluster
        self.ledger = ledger
        self._state = state_reader
        self._clock = clock
        self._sleep = sleep
        self._lock_wait = lock_wait
        self._lock_lease = lock_lease

    def run(self, request: RollbackRequest) -> RollbackResult:
        """Return what was done; AWS failures are reported in the result, not raised (the rollout is judged)."""
        r = request
        if not r.wanted or r.ecs_rolled_back:
            return RollbackResult(self._decide(r, breaker_rollback=False, current=None))
        owner = uuid.uuid4().hex
        lock = self._acquire(r.key, owner)
        if not lock.acquired:
            decision = RollbackDecision(False, f"service {r.key} is locked by another deployment; not rolled back")
            return RollbackResult(decision, error="ServiceLocked")
        try:
            try:
                svc = self.cluster.services(r.region, r.role_arn, r.cluster, [r.service])[r.service]
                if isinstance(svc, AwsError):
                    raise svc
                state = self._state(svc, r.region, r.cluster, {}, [])
                decision = self._decide(
                    r,
                    breaker_rollback=state.circuit_breaker and state.circuit_breaker_rollback,
                    current=state.task_definition_arn,
                )
                if not decision.roll_back:
                    return RollbackResult(decision)
                assert r.previous_task_definition is not None  # decide_rollback requires it
                deployment = self.cluster.update(
                    r.region, r.role_arn, r.cluster, r.service, task_definition=r.previous_task_definition
                )
            except AwsError as err:
                return RollbackResult(RollbackDecision(False, f"rollback failed: {err}"), error=err.code)
            return RollbackResult(decision, deployment)
        finally:
            if self.ledger is not None:
                try:
                    self.ledger.unlock(r.key, owner)
                except AwsError as err:
                    # The lease frees the service anyway; the rollback itself stands.
                    logger.error(json.dumps({"service": r.key, "lock": "release failed", "error": str(err)}))

    def _decide(self, r: RollbackRequest, *, breaker_rollback: bool, current: str | None) -> RollbackDecision:
        return decide_rollback(
            wanted=r.wanted,
            state=r.state,
            ecs_rolled_back=r.ecs_rolled_back,
            breaker_rollback=breaker_rollback,
            ours=r.task_definition,
            current=current,
            previous=r.previous_task_definition,
        )

    def _acquire(self, key: str, owner: str) -> Lock:
        if self.ledger is None:
            return Lock(True, owner)
        deadline = self._clock() + self._lock_wait
        delay = LOCK_POLL_SECONDS
        while True:
            try:
                lock = self.ledger.lock(key, owner, self._clock(), self._lock_lease)
            except AwsError as err:
                return Lock(False, f"error: {err.code}")
            if lock.acquired or self._clock() >= deadline:
                return lock
            self._sleep(min(delay, max(0.0, deadline - self._clock())))
            delay = min(delay * 2, LOCK_POLL_MAX_SECONDS)
