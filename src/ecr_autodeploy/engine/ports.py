"""What the use cases need from the world, as Protocols over domain values (aws/ implements them; tests fake them).

Every port takes and returns core values (ServiceRef, Service, TaskDefinition, ImageInfo, ledger items), never
boto3 dicts, so a unit test passes a ten-line fake instead of an emulator.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ecr_autodeploy.core.errors import NotFoundError
from ecr_autodeploy.core.model import (
    Deployment,
    ImageInfo,
    RepositoryRef,
    Service,
    ServiceDeployment,
    ServiceRef,
    TaskDefinition,
)
from ecr_autodeploy.core.records import Claim, Lock, Recorded

if TYPE_CHECKING:
    from ecr_autodeploy.core.approvals import Approval, ApprovalState
    from ecr_autodeploy.core.notify import Message
    from ecr_autodeploy.core.pauses import Pauses
    from ecr_autodeploy.core.records import DeploymentRecord, ServiceItem


class RegistryPort(Protocol):
    """What the use cases read from ECR (aws.ecr.Registry is one)."""

    def images(self, region: str, registry_id: str, repository: str, digests: Sequence[str]) -> dict[str, ImageInfo]:
        """Return the images with these digests (the first must exist; others may be gone)."""
        ...

    def by_tag(self, region: str, registry_id: str, repository: str, tag: str) -> ImageInfo:
        """Return the image a tag points at now."""
        ...

    def listing(self, region: str, registry_id: str, repository: str, *, tagged: bool = False) -> list[ImageInfo]:
        """Return every image of a repository (only the tagged ones with `tagged`)."""
        ...

    def repositories(self, region: str) -> list[RepositoryRef]:
        """Return every repository of the registry in a region."""
        ...


class ServiceReader(Protocol):
    """Reads services from ECS (what waiting on a deployment needs)."""

    def services(self, refs: Sequence[ServiceRef]) -> Mapping[ServiceRef, Service | NotFoundError]:
        """Return each service or why it is missing; refs share one (region, role, cluster), at most 10."""
        ...


class ServiceDeploymentPort(Protocol):
    """ECS's Service Deployments API; every read returns None where it is not available (old SDK, endpoint)."""

    def find_service_deployment(
        self, ref: ServiceRef, *, since: datetime, deployment_id: str | None, task_definition: str | None
    ) -> ServiceDeployment | None:
        """Return the service deployment a deployment started at `since` runs, or None."""
        ...

    def service_deployments(self, ref: ServiceRef, arns: Sequence[str]) -> Mapping[str, ServiceDeployment] | None:
        """Return these service deployments by ARN, or None where the API is not available."""
        ...

    def stop_service_deployment(self, ref: ServiceRef, arn: str, *, rollback: bool = True) -> None:
        """Stop a service deployment; with `rollback`, ECS rolls back to the previous service revision."""
        ...

    def continue_service_deployment(self, ref: ServiceRef, arn: str, hook_id: str, *, rollback: bool = False) -> None:
        """Resume a service deployment held at a PAUSE hook (or roll it back)."""
        ...


class DeploymentReader(ServiceReader, ServiceDeploymentPort, Protocol):
    """What following a deployment needs: services, and their service deployments."""


class ClusterPort(DeploymentReader, Protocol):
    """What the use cases read from and do to ECS (aws.ecs.Cluster is one)."""

    def task_definition(self, where: ServiceRef, arn: str) -> TaskDefinition:
        """Return a revision with its tags, read in the region and account of `where`."""
        ...

    def register(self, where: ServiceRef, params: Mapping[str, Any]) -> str:
        """Register a revision in the region and account of `where`; return its ARN."""
        ...

    def update(
        self,
        ref: ServiceRef,
        *,
        task_definition: str | None = None,
        force: bool = False,
        deployment: Mapping[str, Any] | None = None,
    ) -> Deployment | None:
        """Start a deployment (setting `deployment` as the deploymentConfiguration); return the new PRIMARY one."""
        ...

    def deregister(self, where: ServiceRef, arn: str) -> None:
        """Deregister a revision this tool registered for a deployment that did not start."""
        ...

    def task_digests(self, ref: ServiceRef) -> dict[str, tuple[str, ...]]:
        """Return the image digests the service's running tasks report, per container name."""
        ...


class LedgerPort(Protocol):
    """What the use cases record in the ledger (aws.ledger.Ledger is one; tests use an in-memory one)."""

    def lock(self, key: str, owner: str, now: float, lease: float) -> Lock:
        """Take a service's lock; return who holds it when it is taken."""
        ...

    def hold(self, key: str, owner: str, now: float, lease: float) -> bool:
        """Re-assert `owner`'s lock (extending its lease); return False when it was lost."""
        ...

    def unlock(self, key: str, owner: str) -> bool:
        """Release a service's lock; return False when the lease had passed and another took it."""
        ...

    def claim(
        self,
        key: str,
        digest: str,
        event_id: str,
        owner: str,
        now: float,
        lease: float,
        *,
        overwrite: bool = False,
        holding: bool = False,
    ) -> Claim:
        """Claim (service, digest) once; return the earlier claim when another won.

        With `holding`, re-assert `owner`'s lock in the same write; raise LockLost when it is gone.
        """
        ...

    def read_claim(self, key: str, digest: str) -> Claim | None:
        """Return the claim of (service, digest) as it stands, writing nothing (what a dry run asks)."""
        ...

    def unclaim(self, key: str, digest: str, owner: str) -> None:
        """Drop our claim after a deploy that did not start."""
        ...

    def started(
        self,
        record: DeploymentRecord,
        owner: str,
        *,
        claimed: bool,
        release: bool = False,
        supersedes: str | None = None,
    ) -> Recorded:
        """Record a started deployment (with `release`, freeing owner's lock in the same write; with `supersedes`,
        judging that open deployment SUPERSEDED in it too); say what it did."""
        ...

    def deployment(self, deployment_id: str) -> DeploymentRecord | None:
        """Return the record of a deployment we started, or None."""
        ...

    def deployments(self, ids: Iterable[str]) -> dict[str, DeploymentRecord]:
        """Return the records of these deployments (missing ones left out)."""
        ...

    def progress(self, deployment_id: str) -> bool:
        """Move a record from STARTED to IN_PROGRESS; return False when it had moved on."""
        ...

    def finish(
        self,
        deployment_id: str,
        state: str,
        reason: str,
        now: float,
        extra: Mapping[str, Any] | None = None,
        *,
        service: bool = True,
    ) -> DeploymentRecord | None:
        """Judge an open record once; return it, or None when judged before."""
        ...

    def note(self, deployment_id: str, values: Mapping[str, Any]) -> None:
        """Add attributes to a deployment record."""
        ...

    def services(self, keys: Iterable[str]) -> dict[str, ServiceItem]:
        """Return the per-service items of these services."""
        ...

    def first_notice(self, key: str, digest: str, now: float) -> bool:
        """Return True the first time (within a day) a drift of (service, digest) is noticed."""
        ...


class NotifierPort(Protocol):
    """Where messages go (aws.notifier.Notifier is one); must not raise."""

    def notify(self, message: Message) -> Sequence[object]:
        """Deliver one message to every channel; return what happened on each."""
        ...


class FanOutPort(Protocol):
    """How a share of a fan-out reaches another invocation (aws.fanout: the function invokes itself)."""

    def dispatch(self, event: Mapping[str, Any]) -> str:
        """Hand a batch event (core/fanout.py) to another invocation; return its request id; raise AwsError."""
        ...


class GateStorePort(Protocol):
    """Pauses and approvals in the ledger (aws.gate_store.GateStore is one); every read by key."""

    def pauses(self) -> Pauses:
        """Return every pause of the installation."""
        ...

    def approvals(self, ids: Iterable[str]) -> dict[str, Approval]:
        """Return these approvals (missing ones left out)."""
        ...

    def open_approvals(self) -> list[Approval]:
        """Return the pending approvals, oldest first."""
        ...

    def request(self, approval: Approval) -> Approval | None:
        """Record a pending approval; return the one already there with its id instead, if any."""
        ...

    def decide(
        self,
        approval: str,
        state: ApprovalState,
        by: str | None,
        now: float,
        reason: str,
        *,
        superseded_by: str | None = None,
    ) -> Approval | None:
        """Close a pending approval once; return it, or None when it was not pending."""
        ...


class AlarmPort(Protocol):
    """CloudWatch alarms (aws.alarms.Alarms is one)."""

    def alarm_states(self, region: str, names: Sequence[str]) -> dict[str, str]:
        """Return the StateValue (OK, ALARM, INSUFFICIENT_DATA) of each alarm that exists, by name."""
        ...
