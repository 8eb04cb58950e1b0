"""The ledger's records: a deployment this tool started, and the per-service item (see core/ledger.py for keys).

Kept apart from core/ledger.py so that an image event that deploys nothing never builds these classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Literal

from ecr_autodeploy.core.ledger import OPEN_STATES, RecordState


@dataclass(frozen=True)
class DeploymentRecord:
    """A deployment this tool started: enough to recognise its ECS events, report it and roll it back."""

    deployment_id: str
    service_key: str
    region: str
    cluster: str
    service: str
    task_definition: str
    started_at: float
    state: RecordState = "STARTED"
    role_arn: str | None = None
    rule: int | None = None
    rollback: bool = False
    strategy: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    previous_task_definition: str | None = None
    event_id: str | None = None
    event_kind: str | None = None
    account: str | None = None
    source_region: str | None = None
    source_account: str | None = None
    reason: str | None = None
    finished_at: float | None = None
    superseded_by: str | None = None
    rollback_of: str | None = None
    rollback_task_definition: str | None = None
    rollback_deployment_id: str | None = None
    rolled_back_by: Literal["ecs", "ecr-autodeploy"] | None = None

    @property
    def open(self) -> bool:
        """Return True while the rollout has not been judged."""
        return self.state in OPEN_STATES

    def to_item(self) -> dict[str, Any]:
        """Return the record as item attributes (None fields left out)."""
        return {k: v for k, v in asdict(self).items() if v is not None}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> DeploymentRecord:
        """Return the record stored in an item (unknown attributes ignored)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in item.items() if k in names}
        for key in ("started_at", "finished_at"):
            if values.get(key) is not None:
                values[key] = float(values[key])
        if values.get("rule") is not None:
            values["rule"] = int(values["rule"])
        return replace(cls("", "", "", "", "", "", 0.0), **values)


@dataclass(frozen=True)
class ServiceRecord:
    """The per-service item: who holds the lock, and the last deployment started there."""

    key: str
    deployment_id: str | None = None
    digest: str | None = None
    tag: str | None = None
    repository: str | None = None
    state: str | None = None
    started_at: float | None = None
    finished_at: float | None = None
    lease_owner: str | None = None
    lease_until: float | None = None

    @classmethod
    def from_item(cls, key: str, item: Mapping[str, Any]) -> ServiceRecord:
        """Return the record stored in a service item."""

        def number(name: str) -> float | None:
            value = item.get(name)
            return None if value is None else float(value)

        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else str(value)

        return cls(
            key=key,
            deployment_id=text("deployment_id"),
            digest=text("digest"),
            tag=text("tag"),
            repository=text("repository"),
            state=text("state"),
            started_at=number("started_at"),
            finished_at=number("finished_at"),
            lease_owner=text("lease_owner"),
            lease_until=number("lease_until"),
        )
