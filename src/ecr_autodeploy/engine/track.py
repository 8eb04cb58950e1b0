"""Report what became of the deployments this tool started: ECS Deployment State Change events, reconcile's sweep.

A deployment is ours when the ledger holds its record (the Lambda path); without a ledger (CLI replay) when the
task definition of that deployment carries the ``ecr-autodeploy:digest`` tag. Each record is judged once (a
conditional write), so a redelivered event neither notifies nor rolls back twice. A FAILED rollout (a
circuit-breaker rollback included, with ECS's reason) is reported, notified and, when the rule says so and ECS
does not, rolled back; it is not raised: retrying the event would not change what ECS did.

Where ECS has the Service Deployments API, the service deployment our UpdateService started is found (on the
first event that needs it; its ARN is noted on the record) and judges instead: its status, lifecycle stage and
the alarms that fired. A COMPLETED event while the service deployment still bakes is progress, not success; a
deployment held at a PAUSE hook is `paused`; one ECS is still baking, pausing or rolling back is never timed out.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from ecr_autodeploy.core.ecs_events import DeploymentEvent
from ecr_autodeploy.core.errors import AwsError, NotFoundError
from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.ledger_items import ROLLOUT_TIMEOUT_SECONDS
from ecr_autodeploy.core.messages import JUDGED_KINDS, judged_message
from ecr_autodeploy.core.model import Deployment, Provenance, Service, ServiceRef, TaskDefinition
from ecr_autodeploy.core.outcomes import Outcome, Result, Status, record_outcome
from ecr_autodeploy.core.planning import DIGEST_TAG, EVENT_TAG, PREVIOUS_TAG, ROLLBACK_TAG
from ecr_autodeploy.core.records import DeploymentRecord
from ecr_autodeploy.core.rollout import RolloutStatus, failed_status, judge_service_deployment, progress_text
from ecr_autodeploy.engine.concurrency import concurrently
from ecr_autodeploy.engine.gather import Gather
from ecr_autodeploy.engine.ports import LedgerPort
from ecr_autodeploy.engine.report import Reporter
from ecr_autodeploy.engine.rollback import Rollback, RollbackRequest, RollbackResult
from ecr_autodeploy.engine.watch import Follower

if TYPE_CHECKING:
    from ecr_autodeploy.engine.chain import Chain

logger = logging.getLogger("ecr_autodeploy")
# A deployment this tool starts follows the registration of its revision within seconds; ECS's later deployments
# of the same revision (a circuit-breaker rollback to it) are not ours.
OWN_DEPLOYMENT_WINDOW = timedelta(minutes=10)


class Tracker:
    """Judge deployments we started and report them once."""

    def __init__(
        self,
        gather: Gather,
        ledger: LedgerPort | None,
        rollback: Rollback,
        reporter: Reporter,
        *,
        clock: Callable[[], float] = time.time,
        timeout: float = ROLLOUT_TIMEOUT_SECONDS,
        chain: Chain | None = None,
    ) -> None:
        self.gather = gather
        self.ledger = ledger
        self.rollback = rollback
        self.reporter = reporter
        self.chain = chain
        self._clock = clock
        self._timeout = timeout

    def handle(self, event: DeploymentEvent) -> Result:
        """Return the outcome of one ECS deployment event (ignored when the deployment is not ours), and what it
        started or stopped (engine/chain.py)."""
        outcome, record = self._handle(event)
        outcomes = [outcome, *self._chained(event, outcome, record)]
        result = Result(event.event_id, "deployment", outcome.repository, outcome.tag, outcome.digest, tuple(outcomes))
        return self.reporter.finish(result, outcome.target or event.service)

    def _chained(self, event: DeploymentEvent, outcome: Outcome, record: DeploymentRecord | None) -> list[Outcome]:
        """Return what a judged rollout starts (promotions, the next wave) or stops (the rest of a failed wave)."""
        if self.chain is None or record is None:
            return []
        # A redelivered COMPLETED event finds the record judged: what it starts is started again (deploys are
        # claimed once), so a retry after a failed start still starts it.
        if event.state == "COMPLETED" and (outcome.status == "completed" or record.state == "COMPLETED"):
            return self.chain.completed(record)
        if outcome.status == "rollout_failed":
            return self.chain.failed(record)
        return []

    def _handle(self, event: DeploymentEvent) -> tuple[Outcome, DeploymentRecord | None]:
        if self.ledger is None:
            return self._by_tag(event), None
        record = self.ledger.deployment(event.deployment_id)
        if record is None and event.state == "FAILED":
            # Its record may have failed to be written after UpdateService: a failed rollout must still be
            # reported and rolled back, so recognise it by the tags on its task definition.
            return self._by_tag(event), None
        if record is None or record.ref.service != event.service:
            return _foreign(event, "it has no ledger record"), None
        if event.state == "IN_PROGRESS":
            if self.ledger.progress(record.deployment_id):
                self._follow(record, None)  # notes the service deployment's ARN for later judging
                reason = event.reason or "rollout in progress"
                return record_outcome(record, "in_progress", reason, "IN_PROGRESS"), record
            return record_outcome(
                record, "ignored", f"deployment {record.deployment_id} is {record.state} already"
            ), record
        if event.state == "COMPLETED":
            status = RolloutStatus(
                "COMPLETED",
                event.reason or "deployment completed",
                record.deployment_id,
                task_definition=record.task_definition,
            )
            ecs = self._follow(record, None)
            if ecs is not None:
                status = ecs  # still baking (or paused) is not COMPLETED yet; SUCCESSFUL is
            if not status.done:
                return _open(record, status), record
            return self.settle(record, status, None), record
        service = self._describe(record.ref)
        ecs = self._follow(record, service, failed=True)
        status = ecs if ecs is not None and ecs.state == "FAILED" else _failed(record, service, event.reason)
        return self.settle(record, status, service), record

    def settle(self, record: DeploymentRecord, status: RolloutStatus, service: Service | None) -> Outcome:
        """Record the judged status once, roll back when due, notify; return the outcome."""
        now = self._clock()
        if self.ledger is not None:
            by = "ecs" if status.rolled_back else None
            judged = self.ledger.finish(record.deployment_id, status.state, status.reason, now, {"rolled_back_by": by})
            if judged is None:
                return record_outcome(record, "ignored", f"deployment {record.deployment_id} was judged before")
        rollback: RollbackResult | None = None
        if status.state in ("FAILED", "TIMEOUT"):
            rollback = self._roll_back(record, status)
        outcome = _judged(record, status, rollback, now)
        kind = JUDGED_KINDS.get(status.state)
        if kind is not None:
            self.reporter.send([judged_message(kind, outcome, record)])
        return outcome

    def sweep(self, pending: Sequence[tuple[DeploymentRecord, Service]]) -> list[Outcome]:
        """Judge open records from a fresh DescribeServices: lost events, and rollouts past the timeout.

        The records are judged concurrently (each its own service deployment reads and judgement write); what a
        failed one stops of a chain (waves, promotions) is decided afterwards, one record at a time.
        """
        now = self._clock()
        records = [(record, service) for record, service in pending if record.open]
        judged = concurrently(lambda pair: self._swept(*pair, now), records)
        outcomes = []
        for (record, _), outcome in zip(records, judged, strict=True):
            outcomes.append(outcome)
            if self.chain is not None and outcome.status == "rollout_failed":
                outcomes.extend(self.chain.failed(record))  # a completed one is reconcile's drift to deploy
        return outcomes

    def _swept(self, record: DeploymentRecord, service: Service, now: float) -> Outcome:
        follower = self._follower(record)
        status = follower.judge(service)
        self._note_arn(record, follower.arn)
        if status.state in ("IN_PROGRESS", "PAUSED"):
            age = now - record.started_at
            # A strategy that bakes on purpose gets its bake times on top; ECS acting itself is never cut short.
            if status.state == "PAUSED" or status.ecs_acting or age < self._timeout + status.wait_seconds:
                reason = f"rollout {progress_text(status) or 'in progress'} for {age:.0f}s"
                return _open(record, replace(status, reason=f"{reason}: {status.reason}"))
            status = replace(status, state="TIMEOUT", reason=f"rollout not finished after {age:.0f}s")
        elif status.state == "FAILED" and status.service_deployment is None:
            status = _failed(record, service, status.reason)
        return self.settle(record, status, service)

    def _follower(self, record: DeploymentRecord) -> Follower:
        since = datetime.fromtimestamp(record.started_at, UTC) if record.started_at > 0 else None
        return Follower(
            self.gather.cluster,
            record.ref,
            record.deployment_id,
            task_definition=record.task_definition,
            since=since,
            arn=record.service_deployment_arn,
        )

    def _follow(
        self, record: DeploymentRecord, service: Service | None, *, failed: bool = False
    ) -> RolloutStatus | None:
        """Return our deployment as its service deployment tells it (None where the API is not available)."""
        follower = self._follower(record)
        try:
            sd = follower.service_deployment(service)
        except AwsError as err:
            # The ECS event still judges it; the service deployment only adds detail.
            logger.warning(json.dumps({"deployment_id": record.deployment_id, "service deployment": str(err)}))
            return None
        if sd is None:
            return None
        self._note_arn(record, sd.arn)
        current = service.current_service_deployment if service is not None else None
        return judge_service_deployment(
            record.deployment_id, sd, current, task_definition=record.task_definition, failed=failed
        )

    def _note_arn(self, record: DeploymentRecord, arn: str | None) -> None:
        if self.ledger is None or arn is None or record.service_deployment_arn == arn:
            return
        try:
            self.ledger.note(record.deployment_id, {"service_deployment_arn": arn})
        except AwsError as err:
            logger.warning(
                json.dumps({"deployment_id": record.deployment_id, "ledger": "note failed", "error": str(err)})
            )

    # ---- helpers --------------------------------------------------------------------------------------------

    def _describe(self, ref: ServiceRef) -> Service | None:
        found = self.gather.services([ref]).get(ref)
        return None if found is None or isinstance(found, AwsError) else found  # else judged from the event alone

    def _roll_back(self, record: DeploymentRecord, status: RolloutStatus) -> RollbackResult:
        request = RollbackRequest(
            ref=record.ref,
            deployment_id=record.deployment_id,
            state=status.state,
            task_definition=record.task_definition,
            previous_task_definition=record.previous_task_definition,
            wanted=record.rollback and record.rollback_of is None,
            ecs_rolled_back=status.rolled_back,
            ecs_acting=status.ecs_acting,
            service_deployment_arn=status.service_deployment or record.service_deployment_arn,
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
        """Recognise a deployment by its task definition's tags: ours when it carries the digest tag and ECS
        started it within minutes of the revision's registration (a later deployment of the same revision is
        ECS's rollback to it, or someone else's)."""
        if event.cluster is None:
            return _foreign(event, "its service ARN names no cluster")
        ref = ServiceRef(event.region, event.cluster, event.service)
        found = self.gather.services([ref])[ref]
        if isinstance(found, NotFoundError):
            return _foreign(event, f"its service is gone ({found.code})")
        if isinstance(found, AwsError):
            raise found
        ours = next((d for d in found.deployments if d.id == event.deployment_id), None)
        if ours is None:
            return _foreign(event, "it is no longer listed")
        try:
            td = self.gather.cluster.task_definition(ref, ours.task_definition)
        except NotFoundError as err:
            return _foreign(event, f"its task definition is gone ({err.code})")
        record = record_from_tags(event, ref, ours, td)
        if record is None:
            return _foreign(event, f"its task definition has no {DIGEST_TAG} tag of a deployment started with it")
        if self.ledger is not None:
            # The missing record, written now so the rollout is judged once like any other.
            self.ledger.started(record, uuid.uuid4().hex, claimed=False)
        if event.state == "IN_PROGRESS":
            return record_outcome(record, "in_progress", event.reason or "rollout in progress", "IN_PROGRESS")
        if event.state == "COMPLETED":
            status = RolloutStatus(
                "COMPLETED",
                event.reason or "deployment completed",
                event.deployment_id,
                running=ours.running,
                desired=ours.desired,
                task_definition=ours.task_definition,
            )
            return self.settle(record, status, found)
        return self.settle(record, _failed(record, found, event.reason), found)


def record_from_tags(
    event: DeploymentEvent, ref: ServiceRef, deployment: Deployment, td: TaskDefinition
) -> DeploymentRecord | None:
    """Return the record a deployment's task-definition tags tell, or None when this tool did not start it."""
    digest = td.tag(DIGEST_TAG)
    if digest is None:
        return None
    registered = td.body.get("registeredAt")
    created = deployment.created_at
    if isinstance(registered, datetime) and created is not None and created - registered > OWN_DEPLOYMENT_WINDOW:
        return None
    repository = next(
        (
            split_image(str(c.get("image", "")))[1]
            for c in td.containers
            if str(c.get("image", "")).endswith(f"@{digest}")
        ),
        None,
    )
    return DeploymentRecord(
        deployment_id=event.deployment_id,
        ref=ref,
        task_definition=deployment.task_definition,
        started_at=created.timestamp() if created is not None else 0.0,
        image=Provenance(repository=repository, digest=digest, account=event.account),
        rollback=td.tag(ROLLBACK_TAG) == "true",
        previous_task_definition=td.tag(PREVIOUS_TAG),
        event_id=td.tag(EVENT_TAG),
    )


def _failed(record: DeploymentRecord, service: Service | None, reason: str) -> RolloutStatus:
    return failed_status(record.deployment_id, record.task_definition, service, reason)


def _judged(record: DeploymentRecord, status: RolloutStatus, rollback: RollbackResult | None, now: float) -> Outcome:
    statuses: dict[str, Status] = {"COMPLETED": "completed", "SUPERSEDED": "superseded", "IN_PROGRESS": "in_progress"}
    reason = status.reason
    rolled_back: bool | None = status.rolled_back or None
    rollback_td = None
    if rollback is not None:
        if rollback.stopped is not None:
            rolled_back = True
            reason = f"{reason}; rolled back by ecr-autodeploy (StopServiceDeployment ROLLBACK)"
        elif rollback.rolled_back:
            rolled_back = True
            rollback_td = record.previous_task_definition
            reason = f"{reason}; rolled back to {(rollback_td or '?').rsplit('/', 1)[-1]} by ecr-autodeploy"
        elif not status.rolled_back and record.rollback:
            reason = f"{reason}; not rolled back: {rollback.decision.reason}"
    return replace(
        _with_stage(record_outcome(record, statuses.get(status.state, "rollout_failed"), reason, status.state), status),
        rolled_back=rolled_back,
        rollback_task_definition=rollback_td,
        duration_seconds=round(now - record.started_at, 1) if record.started_at > 0 else None,
    )


def _open(record: DeploymentRecord, status: RolloutStatus) -> Outcome:
    """Return the outcome of a deployment not judged yet: in progress, or paused at a PAUSE hook."""
    kind: Status = "paused" if status.state == "PAUSED" else "in_progress"
    return _with_stage(record_outcome(record, kind, status.reason, status.state), status)


def _with_stage(outcome: Outcome, status: RolloutStatus) -> Outcome:
    return replace(
        outcome,
        service_deployment=status.service_deployment,
        stage=progress_text(status) or None,
        alarms=status.alarms,
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
