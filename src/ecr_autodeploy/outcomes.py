"""Outcome values: what happened to one target, and to one event, as JSON-ready data."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

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
    "completed",
    "rollout_failed",  # ECS judged our deployment FAILED (circuit breaker, rolled back) or it timed out
    "superseded",
    "drift",  # reconcile --dry-run: the service does not run the newest image the rules allow
]
# Statuses logged at ERROR: something a person should look at.
ERROR_STATUSES = frozenset({"failed", "alert", "rollout_failed"})

logger = logging.getLogger("ecr_autodeploy")


@dataclass(frozen=True)
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

    def to_dict(self) -> dict[str, Any]:
        """Return the outcome without empty fields."""
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, [])}


@dataclass(frozen=True)
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


def log_decision(outcome: Outcome, event_id: str | None) -> None:
    """Log one JSON line for one decision."""
    level = logging.ERROR if outcome.status in ERROR_STATUSES else logging.INFO
    logger.log(level, json.dumps({"event_id": event_id, **outcome.to_dict()}, sort_keys=True, default=str))
