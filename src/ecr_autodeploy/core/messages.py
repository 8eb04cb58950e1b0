"""The notifications this tool sends, built from outcomes, records and events (pure; delivery: aws/notifier.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecr_autodeploy.core.notify import Message, MessageKind, repository_console_url, service_console_url
from ecr_autodeploy.core.timefmt import since

if TYPE_CHECKING:
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
    ref, image = record.ref, record.image
    return Message(
        kind,
        str(text),
        outcome.reason,
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
        duration_seconds=outcome.duration_seconds,
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
