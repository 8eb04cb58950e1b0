"""In-memory fakes of the engine's ports: ECS, ECR, the ledger and a notifier, for decision tests without moto.

Each fake keeps the semantics the engine relies on (one DescribeServices call takes at most 10 services of one
cluster; a claim is won once; a lock is a lease) and counts its calls, so a unit test can say what was called.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ecr_autodeploy.core.errors import LockLost, NotFoundError
from ecr_autodeploy.core.events import ImageEvent, registry_host, repository_arn
from ecr_autodeploy.core.model import (
    Deployment,
    ImageInfo,
    RepositoryRef,
    Service,
    ServiceDeployment,
    ServiceRef,
    TaskDefinition,
)
from ecr_autodeploy.core.notify import Message
from ecr_autodeploy.core.records import Claim, DeploymentRecord, Lock, Recorded, ServiceItem

ACCOUNT = "123456789012"
REGION = "us-east-1"
HOST = registry_host(ACCOUNT, REGION)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def digest(n: int) -> str:
    """Return a well-formed digest numbered n."""
    return f"sha256:{n:064x}"


def image(n: int, *tags: str, repository: str = "shop/api", minutes: int | None = None) -> ImageInfo:
    """Return image n, pushed n minutes after T0 (or `minutes`)."""
    pushed = T0 + timedelta(minutes=n if minutes is None else minutes)
    return ImageInfo(repository, ACCOUNT, digest(n), tuple(tags), pushed)


def image_event(
    info: ImageInfo, tag: str | None = None, *, kind: str = "replicate", event_id: str = "event-1"
) -> ImageEvent:
    """Return the event of an image arriving in REGION."""
    return ImageEvent(
        kind,  # type: ignore[arg-type]
        event_id,
        "2026-01-01T00:00:00Z",
        ACCOUNT,
        REGION,
        info.repository,
        repository_arn(ACCOUNT, REGION, info.repository),
        tag,
        info.digest,
    )


class FakeRegistry:
    """ECR: images per repository."""

    def __init__(self, images: Iterable[ImageInfo] = ()) -> None:
        self.repos: dict[str, list[ImageInfo]] = {}
        self.calls: Counter[str] = Counter()
        for info in images:
            self.add(info)

    def add(self, info: ImageInfo) -> ImageInfo:
        self.repos.setdefault(info.repository, []).append(info)
        return info

    def images(self, region: str, registry_id: str, repository: str, digests: Sequence[str]) -> dict[str, ImageInfo]:
        self.calls["DescribeImages"] += 1
        known = {i.digest: i for i in self.repos.get(repository, [])}
        if digests[0] not in known:
            raise NotFoundError("describing image", "ImageNotFoundException", "not in the repository")
        return {d: known[d] for d in digests if d in known}

    def by_tag(self, region: str, registry_id: str, repository: str, tag: str) -> ImageInfo:
        self.calls["DescribeImages"] += 1
        found = [i for i in self.repos.get(repository, []) if tag in i.tags]
        if not found:
            raise NotFoundError("describing image", "ImageNotFoundException", f"no tag {tag}")
        return found[-1]

    def listing(self, region: str, registry_id: str, repository: str, *, tagged: bool = False) -> list[ImageInfo]:
        self.calls["DescribeImages"] += 1
        return [i for i in self.repos.get(repository, []) if i.tags or not tagged]

    def repositories(self, region: str) -> list[RepositoryRef]:
        self.calls["DescribeRepositories"] += 1
        return [RepositoryRef(name, repository_arn(ACCOUNT, region, name), ACCOUNT) for name in self.repos]


class WithoutServiceDeployments:
    """The Service Deployments API where it is not available (an old SDK): every read is None."""

    def find_service_deployment(
        self, ref: ServiceRef, *, since: datetime, deployment_id: str | None, task_definition: str | None
    ) -> ServiceDeployment | None:
        return None

    def service_deployments(self, ref: ServiceRef, arns: Sequence[str]) -> dict[str, ServiceDeployment] | None:
        return None

    def stop_service_deployment(self, ref: ServiceRef, arn: str, *, rollback: bool = True) -> None:
        raise AssertionError("no Service Deployments API here")

    def continue_service_deployment(self, ref: ServiceRef, arn: str, hook_id: str, *, rollback: bool = False) -> None:
        raise AssertionError("no Service Deployments API here")


@dataclass
class _LiveService:
    task_definition: str
    deployments: list[Deployment] = field(default_factory=list)
    desired: int = 2
    controller: str = "ECS"
    configuration: dict[str, Any] = field(default_factory=dict)
    managed_by: str | None = None


class FakeCluster:
    """ECS: services on task-definition revisions; every update starts a new PRIMARY deployment."""

    def __init__(self) -> None:
        self.revisions: dict[str, TaskDefinition] = {}
        self.live: dict[ServiceRef, _LiveService] = {}
        self.calls: Counter[str] = Counter()
        self.updates: list[tuple[str, str | None, bool]] = []  # (service key, task definition, force)
        self.tasks: dict[ServiceRef, dict[str, tuple[str, ...]]] = {}  # what running tasks report, per container
        self.configurations: list[Mapping[str, Any] | None] = []  # the deploymentConfiguration of each update
        # The Service Deployments API: None where it is not available; else each service's, newest last.
        self.service_deployment_list: dict[ServiceRef, list[ServiceDeployment]] | None = None
        self.stopped: list[tuple[str, bool]] = []  # (service deployment ARN, rollback)
        self.continued: list[tuple[str, str, bool]] = []  # (service deployment ARN, hook id, rollback)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add_service(
        self, ref: ServiceRef, containers: Mapping[str, str] | None = None, *, revision: str | None = None
    ) -> str:
        """Create a service on a new revision running these containers (name -> image), or on `revision`."""
        arn = revision
        if arn is None:
            body = {
                "family": f"{ref.cluster}-{ref.service}",
                "containerDefinitions": [{"name": n, "image": i, "memory": 128} for n, i in (containers or {}).items()],
            }
            arn = self.register(ref, body)
            self.calls["RegisterTaskDefinition"] -= 1  # setting up is not a call of the code under test
        first = Deployment("ecs-svc/initial", "PRIMARY", arn, "COMPLETED", running=2, desired=2)
        self.live[ref] = _LiveService(arn, [first])
        return arn

    def running(self, ref: ServiceRef) -> TaskDefinition:
        """Return the revision a service runs."""
        return self.revisions[self.live[ref].task_definition]

    def services(self, refs: Sequence[ServiceRef]) -> dict[ServiceRef, Service | NotFoundError]:
        assert len(refs) <= 10, "DescribeServices takes at most 10 services"
        assert len({r.group for r in refs}) == 1, "one call covers one cluster, region and role"
        self.calls["DescribeServices"] += 1
        found: dict[ServiceRef, Service | NotFoundError] = {}
        for ref in refs:
            live = self.live.get(ref)
            if live is None:
                found[ref] = NotFoundError(
                    "describing service", "ServiceNotFoundException", "MISSING", resource=ref.key
                )
            else:
                current = None
                if self.service_deployment_list is not None and self.service_deployment_list.get(ref):
                    current = self.service_deployment_list[ref][-1].arn
                found[ref] = Service(
                    ref, f"arn:aws:ecs:{ref.region}:{ACCOUNT}:service/{ref.cluster}/{ref.service}",
                    live.task_definition, tuple(live.deployments), live.desired,
                    deployment_controller=live.controller,
                    strategy=str(live.configuration.get("strategy") or "ROLLING"),
                    deployment_configuration=dict(live.configuration),
                    current_service_deployment=current, managed_by=live.managed_by,
                )  # fmt: skip
        return found

    def task_definition(self, where: ServiceRef, arn: str) -> TaskDefinition:
        self.calls["DescribeTaskDefinition"] += 1
        return self.revisions[arn]

    def register(self, where: ServiceRef, params: Mapping[str, Any]) -> str:
        with self._lock:
            self.calls["RegisterTaskDefinition"] += 1
            family = str(params["family"])
            revision = 1 + sum(1 for td in self.revisions.values() if td.family == family)
            arn = f"arn:aws:ecs:{where.region}:{ACCOUNT}:task-definition/{family}:{revision}"
            body = {k: v for k, v in params.items() if k != "tags"}
            tags = tuple({"key": str(t["key"]), "value": str(t["value"])} for t in params.get("tags", []))
            self.revisions[arn] = TaskDefinition(arn, {**body, "taskDefinitionArn": arn}, tags)
            return arn

    def deregister(self, where: ServiceRef, arn: str) -> None:
        self.calls["DeregisterTaskDefinition"] += 1
        self.revisions.pop(arn, None)

    def task_digests(self, ref: ServiceRef) -> dict[str, tuple[str, ...]]:
        self.calls["ListTasks"] += 1
        return dict(self.tasks.get(ref, {}))

    def update(
        self,
        ref: ServiceRef,
        *,
        task_definition: str | None = None,
        force: bool = False,
        deployment: Mapping[str, Any] | None = None,
    ) -> Deployment | None:
        with self._lock:
            self.calls["UpdateService"] += 1
            live = self.live[ref]
            self.updates.append((ref.key, task_definition, force))
            self.configurations.append(deployment)
            if deployment is not None:
                live.configuration = dict(deployment)
            live.task_definition = task_definition or live.task_definition
            new = Deployment(f"ecs-svc/{next(self._ids)}", "PRIMARY", live.task_definition, "IN_PROGRESS", desired=2)
            live.deployments = [new, *(replace(d, status="ACTIVE") for d in live.deployments)]
            return new

    # ---- the Service Deployments API ----------------------------------------------------------------------------

    def add_service_deployment(self, ref: ServiceRef, sd: ServiceDeployment) -> ServiceDeployment:
        """Give a service a service deployment (and with it the API)."""
        if self.service_deployment_list is None:
            self.service_deployment_list = {}
        self.service_deployment_list.setdefault(ref, []).append(sd)
        return sd

    def set_service_deployment(self, ref: ServiceRef, sd: ServiceDeployment) -> None:
        """Replace the service deployment with sd's ARN (its state moved on)."""
        assert self.service_deployment_list is not None
        listed = self.service_deployment_list[ref]
        listed[:] = [sd if old.arn == sd.arn else old for old in listed]

    def find_service_deployment(
        self, ref: ServiceRef, *, since: datetime, deployment_id: str | None, task_definition: str | None
    ) -> ServiceDeployment | None:
        if self.service_deployment_list is None:
            return None
        self.calls["ListServiceDeployments"] += 1
        number = (deployment_id or "").removeprefix("ecs-svc/")
        listed = self.service_deployment_list.get(ref, [])
        return next((sd for sd in listed if sd.revision_id == number), listed[-1] if listed else None)

    def service_deployments(self, ref: ServiceRef, arns: Sequence[str]) -> dict[str, ServiceDeployment] | None:
        if self.service_deployment_list is None:
            return None
        self.calls["DescribeServiceDeployments"] += 1
        return {sd.arn: sd for sd in self.service_deployment_list.get(ref, []) if sd.arn in arns}

    def stop_service_deployment(self, ref: ServiceRef, arn: str, *, rollback: bool = True) -> None:
        self.calls["StopServiceDeployment"] += 1
        self.stopped.append((arn, rollback))

    def continue_service_deployment(self, ref: ServiceRef, arn: str, hook_id: str, *, rollback: bool = False) -> None:
        self.calls["ContinueServiceDeployment"] += 1
        self.continued.append((arn, hook_id, rollback))


class MemoryLedger:
    """The ledger's conditional writes on a dict, behind one lock (DynamoDB applies each write atomically)."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.records: dict[str, DeploymentRecord] = {}
        self.calls: Counter[str] = Counter()
        self._lock = threading.RLock()

    def lock(self, key: str, owner: str, now: float, lease: float) -> Lock:
        with self._lock:
            self.calls["lock"] += 1
            item = self.items.setdefault(f"svc#{key}", {})
            until = item.get("lease_until")
            if until is not None and until >= now and item.get("lease_owner") != owner:
                return Lock(False, item.get("lease_owner"), until)
            before = ServiceItem.from_item(key, item) if item else None
            item.update(lease_owner=owner, lease_until=now + lease)
            return Lock(True, owner, now + lease, before)

    def hold(self, key: str, owner: str, now: float, lease: float) -> bool:
        with self._lock:
            self.calls["hold"] += 1
            item = self.items.get(f"svc#{key}", {})
            if item.get("lease_owner") != owner:
                return False
            item["lease_until"] = now + lease
            return True

    def unlock(self, key: str, owner: str) -> bool:
        with self._lock:
            self.calls["unlock"] += 1
            item = self.items.get(f"svc#{key}", {})
            if item.get("lease_owner") != owner:
                return False
            item.pop("lease_owner", None)
            item.pop("lease_until", None)
            return True

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
        with self._lock:
            self.calls["claim"] += 1
            if holding and self.items.get(f"svc#{key}", {}).get("lease_owner") != owner:
                raise LockLost(f"service {key}: the lock is not {owner}'s")
            pk = f"claim#{key}#{digest}"
            old = self.items.get(pk)
            lapsed = old is not None and old["state"] == "claimed" and old["lease_until"] < now
            mine = old is not None and old["state"] == "claimed" and old["owner"] == owner
            if old is not None and not overwrite and not lapsed and not mine:
                return Claim(False, old["state"], old["event_id"], old.get("deployment_id"), old["claimed_at"])
            self.items[pk] = {"state": "claimed", "event_id": event_id, "owner": owner, "claimed_at": now}
            self.items[pk]["lease_until"] = now + lease
            return Claim(True, "claimed", event_id, None, now, now + lease)

    def read_claim(self, key: str, digest: str) -> Claim | None:
        old = self.items.get(f"claim#{key}#{digest}")
        if old is None:
            return None
        return Claim(
            False, old["state"], old["event_id"], old.get("deployment_id"), old["claimed_at"], old.get("lease_until")
        )

    def unclaim(self, key: str, digest: str, owner: str) -> None:
        with self._lock:
            self.calls["unclaim"] += 1
            pk = f"claim#{key}#{digest}"
            if self.items.get(pk, {}).get("owner") == owner:
                del self.items[pk]

    def started(
        self,
        record: DeploymentRecord,
        owner: str,
        *,
        claimed: bool,
        release: bool = False,
        supersedes: str | None = None,
    ) -> Recorded:
        with self._lock:
            self.calls["started"] += 1
            self.records[record.deployment_id] = record
            reason = f"superseded by deployment {record.deployment_id}"
            superseded = (
                supersedes is not None
                and self.finish(supersedes, "SUPERSEDED", reason, record.started_at, service=False) is not None
            )
            if claimed and record.image.digest:
                claim = self.items.get(f"claim#{record.service_key}#{record.image.digest}", {})
                if claim.get("owner") == owner:
                    claim.update(state="deployed", deployment_id=record.deployment_id)
            item = self.items.setdefault(f"svc#{record.service_key}", {})
            released = release and item.get("lease_owner") == owner
            if released:
                item.pop("lease_owner", None)
                item.pop("lease_until", None)
            item["failed_digests"] = set(item.get("failed_digests", ())) - {record.image.digest}
            item.update(
                deployment_id=record.deployment_id,
                state="STARTED",
                digest=record.image.digest,
                tag=record.image.tag,
                repository=record.image.repository,
            )
            return Recorded(released, superseded)

    def deployment(self, deployment_id: str) -> DeploymentRecord | None:
        self.calls["deployment"] += 1
        return self.records.get(deployment_id)

    def deployments(self, ids: Iterable[str]) -> dict[str, DeploymentRecord]:
        self.calls["deployments"] += 1
        return {i: self.records[i] for i in ids if i in self.records}

    def progress(self, deployment_id: str) -> bool:
        with self._lock:
            record = self.records[deployment_id]
            if record.state != "STARTED":
                return False
            self.records[deployment_id] = replace(record, state="IN_PROGRESS")
            return True

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
        with self._lock:
            record = self.records.get(deployment_id)
            if record is None or not record.open:
                return None
            judged = replace(record, state=state, reason=reason, finished_at=now)  # type: ignore[arg-type]
            self.records[deployment_id] = judged
            item = self.items.get(f"svc#{record.service_key}", {})
            if service and item.get("deployment_id") == deployment_id:
                item["state"] = state
                if state in ("FAILED", "TIMEOUT") and record.image.digest:
                    item["failed_digests"] = {*item.get("failed_digests", ()), record.image.digest}
            return judged

    def note(self, deployment_id: str, values: Mapping[str, Any]) -> None:
        with self._lock:
            known = {k: v for k, v in values.items() if k in DeploymentRecord.__dataclass_fields__}
            self.records[deployment_id] = replace(self.records[deployment_id], **known)

    def services(self, keys: Iterable[str]) -> dict[str, ServiceItem]:
        self.calls["services"] += 1
        return {k: ServiceItem.from_item(k, self.items[f"svc#{k}"]) for k in keys if f"svc#{k}" in self.items}

    def first_notice(self, key: str, digest: str, now: float) -> bool:
        with self._lock:
            pk = f"drift#{key}#{digest}"
            if pk in self.items:
                return False
            self.items[pk] = {"noticed_at": now}
            return True


class RecordingNotifier:
    """Keeps every message."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    def notify(self, message: Message) -> Sequence[object]:
        self.messages.append(message)
        return []
