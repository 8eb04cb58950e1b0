"""Outcome values: what happened to one target, and to one event, as JSON-ready data; and their builders."""

from __future__ import annotations

from dataclasses import asdict, field, replace
from typing import TYPE_CHECKING, Any, Literal

from ecr_autodeploy.core.errors import AutodeployError, AwsError, DeployError
from ecr_autodeploy.core.values import frozen

if TYPE_CHECKING:
    from ecr_autodeploy.core.events import ImageEvent
    from ecr_autodeploy.core.mapping import Target
    from ecr_autodeploy.core.planning import Plan
    from ecr_autodeploy.core.records import DeploymentRecord

Status = Literal[
    "deployed",  # a deployment was started (its rollout is judged later: completed / rollout_failed)
    "unchanged",
    "skipped",
    "ignored",
    "alert",
    "planned",
    "failed",  # this tool could not do its part (an AWS call failed): raised, so Lambda retries the event
    "duplicate",  # another delivery already deployed this digest to this service (the ledger's claim)
    "in_progress",
    "paused",  # ECS holds our deployment at a PAUSE lifecycle hook: not a failure; `ecr-autodeploy continue`
    "completed",
    "rollout_failed",  # ECS judged our deployment FAILED (circuit breaker, rolled back) or it timed out
    "superseded",
    "drift",  # reconcile --dry-run: the service does not run the newest image the rules allow
    "missing",  # reconcile: a mapped service (or its cluster) does not exist; notified once a day, never raised
    "dispatched",  # handed to another invocation with its fan-out batch (core/fanout.py), which reports it
    "pending_approval",  # a gate: the rule requires approval; `ecr-autodeploy approve ID` deploys it
    "deferred",  # a gate holds it for now (window, alarm, promotion, wave); the scheduled reconcile deploys it later
]
GateName = Literal["pause", "promotion", "approval", "window", "alarm", "wave"]
# Statuses logged at ERROR: something a person should look at.
ERROR_STATUSES = frozenset({"failed", "alert", "rollout_failed", "missing"})


@frozen
class Outcome:
    """The result for one target (or for the whole event when it is ignored or an alert)."""

    status: Status
    reason: str
    target: str | None = None
    cluster: str | None = None
    service: str | None = None
    region: str | None = None
    rule: int | None = None
    strategy: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    task_definition: str | None = None
    previous_task_definition: str | None = None
    deployment_id: str | None = None
    images: dict[str, str] = field(default_factory=dict)
    error_code: str | None = None
    rollout_state: str | None = None
    rolled_back: bool | None = None
    rollback_task_definition: str | None = None
    duration_seconds: float | None = None
    service_deployment: str | None = None  # the service deployment's ARN (Service Deployments API)
    stage: str | None = None  # its lifecycle stage, e.g. BAKE_TIME
    alarms: tuple[str, ...] = ()  # CloudWatch alarms that went to ALARM during it
    gate: GateName | None = None  # the gate that held it (core/gates.py)
    approval: str | None = None  # the approval it waits for (or was deployed by)

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome without empty fields."""
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, [], ())}


@frozen
class Hold:
    """What a gate decided about a target that would deploy: its status, which gate, why (core/gates.py)."""

    status: Status  # deferred, pending_approval or skipped
    gate: GateName
    reason: str
    approval: str | None = None


@frozen
class Result:
    """Every outcome of one event."""

    event_id: str | None
    kind: str | None
    repository: str | None
    tag: str | None
    digest: str | None
    outcomes: tuple[Outcome, ...]
    notes: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[Outcome, ...]:
        """Return the outcomes that failed."""
        return tuple(o for o in self.outcomes if o.status == "failed")

    def to_dict(self) -> dict[str, Any]:
        """Return the result as JSON-ready data."""
        data: dict[str, Any] = {
            "event_id": self.event_id,
            "kind": self.kind,
            "repository": self.repository,
            "tag": self.tag,
            "digest": self.digest,
            "outcomes": [o.to_dict() for o in self.outcomes],
        }
        if self.notes:
            data["notes"] = list(self.notes)
        return data


def ignored_result(event_id: str | None, kind: str | None, reason: str) -> Result:
    """Return the result of an event that asks for nothing: one ``ignored`` outcome with the reason."""
    return Result(event_id, kind, None, None, None, (Outcome("ignored", reason),))


def deploy_error(result: Result, subject: str, what: str = "targets") -> DeployError | None:
    """Return the DeployError for a result with failed outcomes (None when none failed)."""
    failed = result.failed
    if not failed:
        return None
    names = ", ".join(f"{o.target} ({o.error_code})" for o in failed)
    return DeployError(
        f"{subject}: {len(failed)} of {len(result.outcomes)} {what} failed: {names}",
        [o.to_dict() for o in result.outcomes],
    )


def target_outcome(target: Target, event: ImageEvent, status: Status, reason: str) -> Outcome:
    """Return the outcome of one target for one image event."""
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


def plan_outcome(plan: Plan, event: ImageEvent, dry_run: bool) -> Outcome:
    """Return what a plan means before (or, for a dry run, instead of) applying it; a held plan is its gate's."""
    status: Status = {"unchanged": "unchanged", "skip": "skipped"}.get(  # type: ignore[assignment]
        plan.action, "planned" if dry_run else "deployed"
    )
    hold = plan.hold
    outcome = replace(
        target_outcome(plan.target, event, hold.status if hold else status, hold.reason if hold else plan.reason),
        tag=plan.tag,
        digest=plan.digest,
        previous_task_definition=plan.current_task_definition,
        images=dict(plan.images),
    )
    return replace(outcome, gate=hold.gate, approval=hold.approval) if hold else outcome


def failed_outcome(target: Target, event: ImageEvent, err: AutodeployError, plan: Plan | None = None) -> Outcome:
    """Return the failed outcome of a target, with the AWS error code (or the error's type)."""
    code = err.code if isinstance(err, AwsError) else type(err).__name__
    base = plan_outcome(plan, event, dry_run=False) if plan else target_outcome(target, event, "failed", str(err))
    return replace(base, status="failed", reason=str(err), error_code=code)


def record_outcome(record: DeploymentRecord, status: Status, reason: str, rollout_state: str | None = None) -> Outcome:
    """Return the outcome of a deployment this tool started, as its ledger record tells it."""
    return Outcome(
        status,
        reason,
        target=record.ref.key,
        cluster=record.ref.cluster,
        service=record.ref.service,
        region=record.ref.region,
        rule=record.rule,
        strategy=record.strategy,
        repository=record.image.repository,
        tag=record.image.tag,
        digest=record.image.digest,
        task_definition=record.task_definition,
        previous_task_definition=record.previous_task_definition,
        deployment_id=record.deployment_id,
        rollout_state=rollout_state,
    )
