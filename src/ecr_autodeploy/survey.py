"""Survey every mapped service: what it runs, the newest image its rule allows, drift, the last deployment.

Shared by ``status`` and ``reconcile``. The AWS calls are batched and shared: one repository listing, one image
listing per mapped repository (serving every rule and service that uses it), DescribeServices 10 services per
call per (region, role, cluster), one DescribeTaskDefinition per distinct revision, and one ledger BatchGetItem
per 100 services. Rules name repositories by exact name, glob or regex; only repositories that exist can be
surveyed, so the registry's repositories are listed and matched.

A revision never changes once registered, so the survey remembers the task definitions it has read (up to
TASK_DEFINITIONS_KEPT): a warm function's next run describes only revisions it has not seen. A revision's tags can
change, though, so only the task definitions read in this run (``SurveyResult.task_definitions``) are handed on
to the deploy step.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from ecr_autodeploy.core.config import Config, is_glob
from ecr_autodeploy.core.drift import Drift, RepositoryRef, assess, newest_allowed
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.ledger import service_key
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.planning import ImageInfo, ServiceState
from ecr_autodeploy.core.records import ServiceRecord
from ecr_autodeploy.deploy import MAX_WORKERS, ClusterPort, LedgerPort, StateReader

TASK_DEFINITIONS_KEPT = 1000  # revisions remembered between runs (a task definition with its tags is a few KB)
RevisionKey = tuple[str, str | None, str]  # (region, role ARN, task-definition ARN)
TaskDefinition = tuple[dict[str, Any], list[Any]]  # (task definition, tags), as ClusterPort.task_definition returns
ListingKey = tuple[str, str, str]  # (region, registry id, repository)


class InventoryPort(Protocol):
    """What the survey lists in ECR (aws.inventory.Inventory is one)."""

    def repositories(self, region: str) -> list[RepositoryRef]:
        """Return every repository of the registry in a region."""
        ...

    def images(self, region: str, registry_id: str, repository: str) -> list[ImageInfo]:
        """Return every image of a repository."""
        ...


@dataclass(frozen=True)
class ServiceStatus:
    """One mapped (service, repository): what runs, what should, and the last deployment."""

    target: Target
    repository: RepositoryRef
    drift: Drift
    newest: ImageInfo | None = None
    state: ServiceState | None = None
    primary_updated_at: datetime | None = None
    record: ServiceRecord | None = None
    error_code: str | None = None

    @property
    def key(self) -> str:
        """Return the ledger key of the service."""
        return service_key(self.target)

    @property
    def last_deployment(self) -> tuple[str | None, str | None]:
        """Return (state, ISO time) of the last deployment: ours from the ledger, else ECS's PRIMARY."""
        if self.record is not None and self.record.deployment_id:
            when = self.record.finished_at or self.record.started_at
            return self.record.state, _iso(datetime.fromtimestamp(when, UTC)) if when else None
        primary = self.state.primary if self.state else None
        if primary is None:
            return None, None
        return primary.rollout_state, _iso(self.primary_updated_at)

    def to_dict(self) -> dict[str, Any]:
        """Return the row as JSON-ready data."""
        state, when = self.last_deployment
        return {
            "service": self.target.key,
            "repository": self.repository.name,
            "rule": self.target.rule,
            "strategy": self.target.strategy,
            "containers": list(self.drift.containers),
            "images": dict(self.drift.images),
            "running_digest": self.drift.running_digest,
            "running_tag": self.drift.running_tag,
            "task_definition": self.state.task_definition_arn if self.state else None,
            "newest_digest": self.newest.digest if self.newest else None,
            "newest_tags": list(self.newest.tags) if self.newest else [],
            "newest_pushed_at": _iso(self.newest.pushed_at) if self.newest else None,
            "drift": self.drift.state,
            "reason": self.drift.reason,
            "last_deployment_state": state,
            "last_deployment_at": when,
            "last_deployment_id": self.record.deployment_id if self.record else None,
            "error_code": self.error_code,
        }


@dataclass(frozen=True)
class SurveyResult:
    """Every row, plus what could not be surveyed (notes)."""

    rows: tuple[ServiceStatus, ...]
    notes: tuple[str, ...] = ()
    repositories: int = 0
    services: Mapping[str, ServiceState] = field(default_factory=dict)
    task_definitions: Mapping[RevisionKey, TaskDefinition] = field(default_factory=dict)  # described in this run
    images: Mapping[ListingKey, tuple[ImageInfo, ...]] = field(default_factory=dict)  # every image, per repository


class Survey:
    """Gather the status of every mapped service in one region's registry."""

    def __init__(
        self,
        config: Config,
        inventory: InventoryPort,
        cluster: ClusterPort,
        state_reader: StateReader,
        ledger: LedgerPort | None,
        *,
        max_workers: int = MAX_WORKERS,
        keep: int = TASK_DEFINITIONS_KEPT,
    ) -> None:
        self.config = config
        self.inventory = inventory
        self.cluster = cluster
        self.ledger = ledger
        self._state = state_reader
        self._max_workers = max_workers
        self._keep = keep
        self._known: dict[RevisionKey, TaskDefinition] = {}  # oldest use first
        self._known_lock = threading.Lock()

    def run(self, region: str) -> SurveyResult:
        """Return the status of every (service, repository) the rules map, for repositories that exist."""
        repositories = self.inventory.repositories(region)
        pairs: list[tuple[RepositoryRef, Target]] = []
        for repo in repositories:
            targets, _ = map_repository(self.config, repo.name, repo.arn, region)
            pairs.extend((repo, t) for t in targets)
        names = {r.name for r in repositories}
        notes = [
            f"rules[{rule.index}]: repository {rule.repository!r} does not exist in {region}"
            for rule in self.config.rules
            if not rule.repository.startswith("re:") and not is_glob(rule.repository) and rule.repository not in names
        ]
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            images = self._images(pool, region, {repo for repo, _ in pairs})
            services = self._services(pool, [t for _, t in pairs])
            tds, described = self._task_definitions(pool, [t for _, t in pairs], services)
        records = self.ledger.services({service_key(t) for _, t in pairs}) if self.ledger and pairs else {}
        rows = []
        states: dict[str, ServiceState] = {}
        for repo, target in sorted(pairs, key=lambda p: (p[1].key, p[0].name)):
            row = self._row(repo, target, images[repo], services[_group(target)], tds, records.get(service_key(target)))
            rows.append(row)
            if row.state is not None:
                states[target.key] = row.state
        listings = {
            (region, repo.registry_id, repo.name): tuple(found)
            for repo, found in images.items()
            if not isinstance(found, AwsError)
        }
        return SurveyResult(tuple(rows), tuple(notes), len(repositories), states, described, listings)

    # ---- gather ---------------------------------------------------------------------------------------------

    def _images(
        self, pool: ThreadPoolExecutor, region: str, repos: set[RepositoryRef]
    ) -> dict[RepositoryRef, list[ImageInfo] | AwsError]:
        futures = {r: pool.submit(self.inventory.images, region, r.registry_id, r.name) for r in repos}
        return {r: _result(f) for r, f in futures.items()}

    def _services(
        self, pool: ThreadPoolExecutor, targets: Sequence[Target]
    ) -> dict[tuple[str, str | None, str], Mapping[str, Mapping[str, Any] | AwsError] | AwsError]:
        groups: dict[tuple[str, str | None, str], list[str]] = {}
        for t in targets:
            groups.setdefault(_group(t), []).append(t.service)
        futures = {
            key: pool.submit(self.cluster.services, key[0], key[1], key[2], list(dict.fromkeys(names)))
            for key, names in groups.items()
        }
        return {key: _result(f) for key, f in futures.items()}

    def _task_definitions(
        self,
        pool: ThreadPoolExecutor,
        targets: Sequence[Target],
        services: Mapping[tuple[str, str | None, str], Mapping[str, Mapping[str, Any] | AwsError] | AwsError],
    ) -> tuple[dict[RevisionKey, TaskDefinition | AwsError], dict[RevisionKey, TaskDefinition]]:
        """Return every revision the services run (or why it could not be read), and those described now."""
        keys: set[RevisionKey] = set()
        for t in targets:
            group = services[_group(t)]
            svc = group if isinstance(group, AwsError) else group.get(t.service)
            if svc is not None and not isinstance(svc, AwsError):
                keys.add((t.region, t.role_arn, str(svc.get("taskDefinition", ""))))
        found: dict[RevisionKey, TaskDefinition | AwsError] = {}
        with self._known_lock:
            for key in keys & self._known.keys():
                known = self._known.pop(key)
                self._known[key] = found[key] = known  # now the most recently used
        futures = {key: pool.submit(self.cluster.task_definition, *key) for key in keys if key not in found}
        described: dict[RevisionKey, TaskDefinition] = {}
        for key, future in futures.items():
            result = found[key] = _result(future)
            if not isinstance(result, AwsError):
                described[key] = result
        with self._known_lock:
            self._known.update(described)
            for key in list(self._known)[: max(0, len(self._known) - self._keep)]:
                del self._known[key]
        return found, described

    # ---- decide ---------------------------------------------------------------------------------------------

    def _row(
        self,
        repo: RepositoryRef,
        target: Target,
        images: list[ImageInfo] | AwsError,
        group: Mapping[str, Mapping[str, Any] | AwsError] | AwsError,
        tds: Mapping[RevisionKey, TaskDefinition | AwsError],
        record: ServiceRecord | None,
    ) -> ServiceStatus:
        svc = group if isinstance(group, AwsError) else group.get(target.service)
        failure = next((x for x in (images, svc) if isinstance(x, AwsError)), None)
        if svc is None:
            return ServiceStatus(target, repo, Drift("error", f"service {target.key} was not described"), record=record)
        if failure is not None:
            return ServiceStatus(target, repo, Drift("error", str(failure)), record=record, error_code=failure.code)
        assert not isinstance(svc, AwsError)  # failure covers both
        assert not isinstance(images, AwsError)
        found = tds[(target.region, target.role_arn, str(svc.get("taskDefinition", "")))]
        if isinstance(found, AwsError):
            return ServiceStatus(target, repo, Drift("error", str(found)), record=record, error_code=found.code)
        td, tags = found
        state = self._state(svc, target.region, target.cluster, td, tags)
        newest = newest_allowed(images, target.tags)
        last = record.digest if record is not None and record.repository == repo.name else None
        drift = assess(target, repo.name, td, images, newest, last)
        return ServiceStatus(target, repo, drift, newest, state, _primary_updated(svc), record)


def _group(target: Target) -> tuple[str, str | None, str]:
    return (target.region, target.role_arn, target.cluster)


def _result(future: Future[Any]) -> Any:
    try:
        return future.result()
    except AwsError as err:
        return err


def _primary_updated(svc: Mapping[str, Any]) -> datetime | None:
    for d in svc.get("deployments", []):
        if d.get("status") == "PRIMARY":
            when = d.get("updatedAt") or d.get("createdAt")
            return when if isinstance(when, datetime) else None
    return None


def _iso(when: datetime | None) -> str | None:
    return when.isoformat(timespec="seconds") if when else None


def open_deployments(rows: Sequence[ServiceStatus]) -> list[tuple[str, ServiceState]]:
    """Return (deployment id, service state) for each service whose last deployment of ours is not judged yet."""
    found: dict[str, tuple[str, ServiceState]] = {}
    for row in rows:
        r = row.record
        if r is not None and r.deployment_id and r.state in ("STARTED", "IN_PROGRESS") and row.state is not None:
            found[r.deployment_id] = (r.deployment_id, row.state)
    return list(found.values())
