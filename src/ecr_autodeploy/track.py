"""Report what became of the deployments this tool started: ECS Deployment State Change events, reconcile's sweep.

A deployment is ours when the ledger holds its record (the Lambda path); without a ledger (CLI replay) when the
task definition of that deployment carries the ``ecr-autodeploy:digest`` tag. Each record is judged once (a
conditional write), so a redelivered event neither notifies nor rolls back twice. A FAILED rollout (a
circuit-breaker rollback included, with ECS's reason) is reported, notified and, when the rule says so and ECS
does not, rolled back; it is not raised: retrying the event would not change what ECS did.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from ecr_autodeploy.core.ecs_events import DeploymentEvent
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.ledger import ROLLOUT_TIMEOUT_SECONDS
from ecr_autodeploy.core.notify import Message, MessageKind, service_console_url
from ecr_autodeploy.core.planning import DIGEST_TAG, EVENT_TAG, ServiceState, split_image
from ecr_autodeploy.core.records import DeploymentRecord
from ecr_autodeploy.core.rollout import RolloutStatus, judge
from ecr_autodeploy.deploy import ClusterPort, LedgerPort, StateReader
from ecr_autodeploy.outcomes import Outcome, Result, Status, log_decision
from ecr_autodeploy.rollback import Rollback, RollbackRequest, RollbackResult

Sender = Callable[[Sequence[Message]], None]
logger = logging.getLogger("ecr_autodeploy")
_MESSAGE_KINDS: dict[str, MessageKind] = {"COMPLETED": "completed", "FAILED": "failed", "TIMEOUT": "failed"}


class Tracker:
    """Judge deployments we started and report them once."""

    def __init__(
        self,
        cluster: ClusterPort,
        state_reader: StateReader,
        ledger: LedgerPort | None,
        rollback: Rollback,
        send: Sender,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = ROLLOUT_TIMEOUT_SECONDS,
    ) -> None:
        self.cluster = cluster
        self.ledger = ledger
        self.rollback = rollback
        self._state = state_reader
        self._send = send
        self._clock = clock
        self._timeout = timeout

    def handle(self, event: DeploymentEvent) -> Result:
        """Return the outcome of one ECS deployment event (ignored when the deployment is not ours)."""
        outcome = self._handle(event)
        log_decision(outcome, event.event_id)
        return Result(event.event_id, "deployment", outcome.repository, outcome.tag, outcome.digest, (outcome,))

    def _handle(self, event: DeploymentEvent) -> Outcome:
        if self.ledger is None:
            return self._by_tag(event)
        record = self.ledger.deployment(event.deployment_id)
        if record is None or record.service != event.service:
            return _foreign(event, "it has no ledger record")
        if event.state == "IN_PROGRESS":
            if self.ledger.progress(record.deployment_id):
                return _outcome(record, "in_progress", event.reason or "rollout in progress", "IN_PROGRESS")
            return _outcome(record, "ignored", f"deployment {record.deployment_id} is {record.state} already")
        if event.state == "COMPLETED":
            status = RolloutStatus(
                "COMPLETED",
                event.reason or "deployment completed",
                record.deployment_id,
                task_definition=record.task_definition,
            )
            return self.settle(record, status, None)
        state = self._describe(record)
        return self.settle(record, failed_status(record, state, event.reason), state)

    def settle(self, record: DeploymentRecord, status: RolloutStatus, state: ServiceState | None) -> Outcome:
        """Record the judged status once, roll back when due, notify; return the outcome."""
        now = self._clock()
        if self.ledger is not None:
            by = "ecs" if status.rolled_back else None
            judged = self.ledger.finish(record.deployment_id, status.state, status.reason, now, {"rolled_back_by": by})
            if judged is None:
                return _outcome(record, "ignored", f"deployment {record.deployment_id} was judged before")
        rollback: RollbackResult | None = None
        if status.state in ("FAILED", "TIMEOUT"):
            rollback = self._roll_back(record, status)
        outcome = _judged(record, status, rollback, now)
        kind = _MESSAGE_KINDS.get(status.state)
        if kind is not None:
            self._send([_message(kind, outcome, record)])
        return outcome

    def sweep(self, pending: Sequence[tuple[DeploymentRecord, ServiceState]]) -> list[Outcome]:
        """Judge open records from a fresh DescribeServices: lost events, and rollouts past the timeout."""
        outcomes = []
        now = self._clock()
        for record, state in pending:
            if not record.open:
                continue
            status = judge(record.deployment_id, state.deployments)
            if status.state == "IN_PROGRESS":
                age = now - record.started_at
                if age < self._timeout:
                    outcomes.append(
                        _outcome(record, "in_progress", f"rollout in progress for {age:.0f}s", "IN_PROGRESS")
                    )
                    continue
                status = replace(status, state="TIMEOUT", reason=f"rollout not finished after {age:.0f}s")
            elif status.state == "FAILED":
                status = failed_status(record, state, status.reason)
            outcome = self.settle(record, status, state)
            log_decision(outcome, None)
            outcomes.append(outcome)
        return outcomes

    # ---- helpers --------------------------------------------------------------------------------------------

    def _describe(self, record: DeploymentRecord) -> ServiceState | None:
        try:
            found = self.cluster.services(record.region, record.role_arn, record.cluster, [record.service])
        except AwsError:
            return None  # judged from the event alone
        svc = found.get(record.service)
        if svc is None or isinstance(svc, AwsError):
            return None
        return self._state(svc, record.region, record.cluster, {}, [])

    def _roll_back(self, record: DeploymentRecord, status: RolloutStatus) -> RollbackResult:
        request = RollbackRequest(
            region=record.region,
            role_arn=record.role_arn,
            cluster=record.cluster,
            service=record.service,
            key=record.service_key,
            deployment_id=record.deployment_id,
            state=status.state,
            task_definition=record.task_definition,
            previous_task_definition=record.previous_task_definition,
            wanted=record.rollback and record.rollback_of is None,
            ecs_rolled_back=status.rolled_back,
        )
        result = self.rollback.run(request)
        if result.deployment is not None and self.ledger is not None:
            self._record_rollback(record, result)
        return result

    def _record_rollback(self, record: DeploymentRecord, result: RollbackResult) -> None:
        assert self.ledger is not None
        assert result.deployment is not None
        try:
            self.ledger.note(
                record.deployment_id,
                {
                    "rolled_back_by": "ecr-autodeploy",
                    "rollback_task_definition": record.previous_task_definition,
                    "rollback_deployment_id": result.deployment.id,
                },
            )
            # The rollback is a deployment too: its own ECS events are recognised and reported.
            self.ledger.started(
                replace(
                    record,
                    deployment_id=result.deployment.id,
                    task_definition=record.previous_task_definition or result.deployment.task_definition,
                    previous_task_definition=record.task_definition,
                    started_at=self._clock(),
                    state="STARTED",
                    rollback=False,
                    rollback_of=record.deployment_id,
                    reason=None,
                    finished_at=None,
                ),
                uuid.uuid4().hex,
                claimed=False,
            )
        except AwsError as err:
            # The rollback happened; the outcome says so even if its record is missing.
            logger.error(
                json.dumps(
                    {"deployment_id": record.deployment_id, "ledger": "rollback record failed", "error": str(err)}
                )
            )

    def _by_tag(self, event: DeploymentEvent) -> Outcome:
        """Without a ledger: ours when the deployment's task definition carries the digest tag (no rollback)."""
        if event.cluster is None:
            return _foreign(event, "its service ARN names no cluster and there is no ledger")
        found = self.cluster.services(event.region, None, event.cluster, [event.service])[event.service]
        if isinstance(found, AwsError):
            raise found
        state = self._state(found, event.region, event.cluster, {}, [])
        ours = next((d for d in state.deployments if d.id == event.deployment_id), None)
        if ours is None:
            return _foreign(event, "it is no longer listed and there is no ledger")
        td, tags = self.cluster.task_definition(event.region, None, ours.task_definition)
        values = {str(t.get("key")): str(t.get("value")) for t in tags}
        digest = values.get(DIGEST_TAG)
        if digest is None:
            return _foreign(event, f"its task definition has no {DIGEST_TAG} tag")
        repository = next(
            (
                split_image(str(c.get("image", "")))[1]
                for c in td.get("containerDefinitions", [])
                if str(c.get("image", "")).endswith(f"@{digest}")
            ),
            None,
        )
        record = DeploymentRecord(
            deployment_id=event.deployment_id,
            service_key=f"{event.region}/{event.cluster}/{event.service}",
            region=event.region,
            cluster=event.cluster,
            service=event.service,
            task_definition=ours.task_definition,
            started_at=0.0,
            repository=repository,
            digest=digest,
            event_id=values.get(EVENT_TAG),
            account=event.account,
        )
        if event.state == "IN_PROGRESS":
            return _outcome(record, "in_progress", event.reason or "rollout in progress", "IN_PROGRESS")
        if event.state == "COMPLETED":
            status = RolloutStatus(
                "COMPLETED",
                event.reason or "deployment completed",
                event.deployment_id,
                running=ours.running,
                desired=ours.desired,
                task_definition=ours.task_definition,
            )
            return self.settle(record, status, state)
        return self.settle(record, failed_status(record, state, event.reason), state)


def failed_status(record: DeploymentRecord, state: ServiceState | None, reason: str) -> RolloutStatus:
    """Return FAILED for our deployment with ECS's reason; rolled_back when ECS put the previous revision back."""
    judged = judge(record.deployment_id, state.deployments) if state is not None else None
    rolled_back = bool(judged and judged.state == "FAILED" and judged.rolled_back)
    if not rolled_back and state is not None:
        # The failed deployment may already be gone from the list once ECS's rollback completed.
        rolled_back = (
            state.circuit_breaker
            and state.circuit_breaker_rollback
            and state.task_definition_arn != record.task_definition
        )
    text = reason or (judged.reason if judged else "") or "deployment failed"
    if rolled_back and "rolled back" not in text:
        current = state.task_definition_arn.rsplit("/", 1)[-1] if state else "the previous revision"
        text = f"{text} (rolled back by ECS to {current})"
    return RolloutStatus(
        "FAILED",
        text,
        record.deployment_id,
        running=judged.running if judged else 0,
        desired=judged.desired if judged else 0,
        pending=judged.pending if judged else 0,
        task_definition=record.task_definition,
        rolled_back=rolled_back,
    )


def _judged(record: DeploymentRecord, status: RolloutStatus, rollback: RollbackResult | None, now: float) -> Outcome:
    statuses: dict[str, Status] = {"COMPLETED": "completed", "SUPERSEDED": "superseded", "IN_PROGRESS": "in_progress"}
    reason = status.reason
    rolled_back: bool | None = status.rolled_back or None
    rollback_td = None
    if rollback is not None:
        if rollback.rolled_back:
            rolled_back = True
            rollback_td = record.previous_task_definition
            reason = f"{reason}; rolled back to {(rollback_td or '?').rsplit('/', 1)[-1]} by ecr-autodeploy"
        elif not status.rolled_back and record.rollback:
            reason = f"{reason}; not rolled back: {rollback.decision.reason}"
    return replace(
        _outcome(record, statuses.get(status.state, "rollout_failed"), reason, status.state),
        rolled_back=rolled_back,
        rollback_task_definition=rollback_td,
        duration_seconds=round(now - record.started_at, 1) if record.started_at > 0 else None,
    )


def _outcome(record: DeploymentRecord, status: Status, reason: str, rollout_state: str | None = None) -> Outcome:
    return Outcome(
        status,
        reason,
        target=f"{record.region}/{record.cluster}/{record.service}",
        cluster=record.cluster,
        service=record.service,
        region=record.region,
        rule=record.rule,
        strategy=record.strategy,
        repository=record.repository,
        tag=record.tag,
        digest=record.digest,
        task_definition=record.task_definition,
        previous_task_definition=record.previous_task_definition,
        deployment_id=record.deployment_id,
        rollout_state=rollout_state,
    )


def _foreign(event: DeploymentEvent, why: str) -> Outcome:
    return Outcome(
        "ignored",
        f"deployment {event.deployment_id} of {event.service} was not started by ecr-autodeploy ({why})",
        cluster=event.cluster,
        service=event.service,
        region=event.region,
        deployment_id=event.deployment_id,
        rollout_state=event.state,
    )


def _message(kind: MessageKind, outcome: Outcome, record: DeploymentRecord) -> Message:
    text: Any = outcome.rollout_state or outcome.status
    if outcome.rolled_back:
        text = f"{text}, rolled back"
    if record.rollback_of:
        text = f"rollback of {record.rollback_of}: {text}"
    return Message(
        kind,
        str(text),
        outcome.reason,
        repository=record.repository,
        tag=record.tag,
        digest=record.digest,
        region=record.region,
        account=record.account,
        source_region=record.source_region,
        source_account=record.source_account,
        cluster=record.cluster,
        service=record.service,
        task_definition=record.task_definition,
        deployment_id=record.deployment_id,
        duration_seconds=outcome.duration_seconds,
        console_url=service_console_url(record.region, record.cluster, record.service),
    )
