"""The notifications this tool sends, built from outcomes, records and events (pure; delivery: aws/notifier.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecr_autodeploy.core.notify import Message, MessageKind, repository_console_url, service_console_url
from ecr_autodeploy.core.timefmt import since

if TYPE_CHECKING:
    from ecr_autodeploy.core.approvals import Approval
    from ecr_autodeploy.core.events import ImageEvent, ReplicationFailure
    from ecr_autodeploy.core.outcomes import Outcome
    from ecr_autodeploy.core.records import DeploymentRecord

# What a judged rollout state is announced as.
JUDGED_KINDS: dict[str, MessageKind] = {"COMPLETED": "completed", "FAILED": "failed", "TIMEOUT": "failed"}


def started_message(outcome: Outcome, event: ImageEvent, now: float) -> Message | None:
    """Return the notification for a deployment this event started or failed to start, else None."""
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
        duration_seconds=since(event.time, now),
        console_url=service_console_url(outcome.region or event.region, outcome.cluster or "", outcome.service or ""),
    )


def judged_message(kind: MessageKind, outcome: Outcome, record: DeploymentRecord) -> Message:
    """Return the notification of a judged rollout of a deployment this tool started."""
    text: Any = outcome.rollout_state or outcome.status
    if outcome.rolled_back:
        text = f"{text}, rolled back"
    if record.rollback_of:
        text = f"rollback of {record.rollback_of}: {text}"
    return record_message(kind, str(text), outcome.reason, record, outcome.duration_seconds)


def record_message(
    kind: MessageKind, text: str, reason: str, record: DeploymentRecord, duration: float | None = None
) -> Message:
    """Return a notification about a deployment this tool started, with its image, service and revision."""
    ref, image = record.ref, record.image
    return Message(
        kind,
        text,
        reason,
        repository=image.repository,
        tag=image.tag,
        digest=image.digest,
        region=ref.region,
        account=image.account,
        source_region=image.source_region,
        source_account=image.source_account,
        cluster=ref.cluster,
        service=ref.service,
        task_definition=record.task_definition,
        deployment_id=record.deployment_id,
        duration_seconds=duration,
        console_url=service_console_url(ref.region, ref.cluster, ref.service),
    )


def alert_message(event: ReplicationFailure, reason: str) -> Message:
    """Return the notification of a FAILED replication."""
    return Message(
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


def drift_message(outcome: Outcome, account: str, task_definition: str | None, dry_run: bool) -> Message:
    """Return the notification that a service does not run the newest image its rule allows, or is gone."""
    missing = outcome.status == "missing"
    return Message(
        "missing" if missing else "drift",
        "service missing" if missing else "drift found" if dry_run else "drift found, deploying",
        outcome.reason,
        repository=outcome.repository,
        tag=outcome.tag,
        digest=outcome.digest,
        region=outcome.region,
        account=account,
        cluster=outcome.cluster,
        service=outcome.service,
        task_definition=task_definition,
        console_url=service_console_url(outcome.region or "", outcome.cluster or "", outcome.service or ""),
    )


def approval_message(approval: Approval, approve: str, reject: str) -> Message:
    """Return the notification that an image waits for approval, with the exact command that approves it."""
    from ecr_autodeploy.core.timefmt import iso

    single = approval.targets[0] if len(approval.targets) == 1 else None
    region, cluster, service = _parts(single)
    reason = (
        f"{approval.image_text} waits for approval {approval.id} before it deploys to {', '.join(approval.targets)} "
        f"(rules[{approval.rule}]), until {iso(approval.deadline)}. Approve: {approve}  Reject: {reject}"
    )
    return Message(
        "approval",
        "approval requested",
        reason,
        repository=approval.repository,
        tag=approval.tag,
        digest=approval.digest,
        region=region or approval.region,
        account=approval.registry_id,
        cluster=cluster,
        service=service,
        command=approve,
        console_url=service_console_url(region, cluster, service) if region and cluster and service else None,
    )


def expired_message(approval: Approval) -> Message:
    """Return the notification that an approval was not given by its deadline and is closed."""
    return Message(
        "approval",
        "approval expired",
        f"approval {approval.id} of {approval.image_text} to {', '.join(approval.targets)}: {approval.reason}",
        repository=approval.repository,
        tag=approval.tag,
        digest=approval.digest,
        region=approval.region,
        account=approval.registry_id,
    )


def stopped_message(record: DeploymentRecord, stopped: list[str]) -> Message:
    """Return the notification that a failed wave stopped the rest of a max_parallel fan-out."""
    reason = (
        f"the rollout of {record.image.digest} FAILED on {record.ref.key} (deployment {record.deployment_id}): "
        f"max_parallel stops the rest of rules[{record.rule}]'s fan-out, not deployed to {', '.join(stopped)}"
    )
    return record_message("stopped", "fan-out stopped", reason, record)


def _parts(key: str | None) -> tuple[str | None, str | None, str | None]:
    """Return (region, cluster, service) of a ledger key (an account prefix dropped)."""
    if key is None:
        return None, None, None
    region, cluster, service = key.split(":", 1)[-1].split("/", 2)
    return region, cluster, service
