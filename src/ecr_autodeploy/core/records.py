"""The ledger's records: a deployment this tool started, the per-service item (keys: core/ledger_items.py), and
what the ledger's writes answer (a lock taken or not, a claim won or not, a record written).

Kept apart from core/ledger_items.py so that an event the function ignores never builds these classes.
Items are flat (one attribute per field); the records group them into a ServiceRef and a Provenance.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, field, fields
from typing import Any, Literal

from ecr_autodeploy.core.ledger_items import OPEN_STATES, RecordState
from ecr_autodeploy.core.model import Provenance, ServiceRef
from ecr_autodeploy.core.values import frozen

_REF_FIELDS = ("region", "cluster", "service", "role_arn")
_IMAGE_FIELDS = tuple(f.name for f in fields(Provenance))


@frozen
class DeploymentRecord:
    """A deployment this tool started: enough to recognise its ECS events, report it and roll it back."""

    deployment_id: str
    ref: ServiceRef
    task_definition: str
    started_at: float
    image: Provenance = field(default_factory=Provenance)
    state: RecordState = "STARTED"
    rule: int | None = None
    rollback: bool = False
    strategy: str | None = None
    previous_task_definition: str | None = None
    event_id: str | None = None
    event_kind: str | None = None
    reason: str | None = None
    finished_at: float | None = None
    superseded_by: str | None = None
    rollback_of: str | None = None
    rollback_task_definition: str | None = None
    rollback_deployment_id: str | None = None
    rolled_back_by: Literal["ecs", "ecr-autodeploy"] | None = None
    service_deployment_arn: str | None = None  # noted by the tracker once found (Service Deployments API)
    registry_region: str | None = None  # where the image was deployed from (the event's region)

    @property
    def service_key(self) -> str:
        """Return the ledger key of the service."""
        return self.ref.ledger_key

    @property
    def open(self) -> bool:
        """Return True while the rollout has not been judged."""
        return self.state in OPEN_STATES

    def to_item(self) -> dict[str, Any]:
        """Return the record as flat item attributes (None fields left out)."""
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("ref", "image")}
        values.update({name: getattr(self.ref, name) for name in _REF_FIELDS})
        values.update(asdict(self.image))
        values["service_key"] = self.service_key
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> DeploymentRecord:
        """Return the record stored in an item (unknown attributes ignored)."""

        def text(name: str) -> str | None:
            value = item.get(name)
            return None if value is None else str(value)

        names = {f.name for f in fields(cls)} - {"ref", "image"}
        values: dict[str, Any] = {k: v for k, v in item.items() if k in names}
        for key in ("started_at", "finished_at"):
            if values.get(key) is not None:
                values[key] = float(values[key])
        if values.get("rule") is not None:
            values["rule"] = int(values["rule"])
        values.setdefault("deployment_id", "")
        values.setdefault("task_definition", "")
        values.setdefault("started_at", 0.0)
        ref = ServiceRef(text("region") or "", text("cluster") or "", text("service") or "", text("role_arn"))
        image = Provenance(**{name: text(name) for name in _IMAGE_FIELDS})
        return cls(ref=ref, image=image, **values)


@frozen
class ServiceItem:
    """The per-service ledger item: who holds the lock, and the last deployment started there."""

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
    failed_digests: frozenset[str] = frozenset()  # digests whose rollout failed here (reconcile leaves them)

    @classmethod
    def from_item(cls, key: str, item: Mapping[str, Any]) -> ServiceItem:
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
            failed_digests=frozenset(str(d) for d in item.get("failed_digests") or ()),
        )


@frozen
class Lock:
    """The result of trying to lock a service: acquired (with the service's item as it was), or who holds it."""

    acquired: bool
    holder: str | None = None
    until: float | None = None
    previous: ServiceItem | None = None  # the last deployment started there, read by the lock's own write


@frozen
class Claim:
    """The result of claiming (service, digest): won, or the claim that was there first."""

    won: bool
    state: str | None = None
    event_id: str | None = None
    deployment_id: str | None = None
    claimed_at: float | None = None
    lease_until: float | None = None


@frozen
class Recorded:
    """What recording a started deployment did: whether it freed the service's lock, whether it judged the
    deployment it superseded SUPERSEDED."""

    released: bool = False
    superseded: bool = False
