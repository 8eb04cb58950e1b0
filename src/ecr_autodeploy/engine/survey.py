"""Survey every mapped service: what it runs, the newest image its rule allows, drift, the last deployment.

Shared by ``status`` and ``reconcile``. The AWS calls are batched and shared: one repository listing, one image
listing per mapped repository (serving every rule and service that uses it), DescribeServices 10 services per
call per (region, role, cluster), one DescribeTaskDefinition per distinct revision, and one ledger BatchGetItem
per 100 services. Rules name repositories by exact name, glob or regex; only repositories that exist can be
surveyed, so the registry's repositories are listed and matched.

A revision never changes once registered, so the survey's gather remembers the task definitions it has read (up
to TASK_DEFINITIONS_KEPT, engine/gather.py): a warm function's next run describes only revisions it has not seen.
A revision's tags can change, though, so only what this run read (its `Reads`) is handed on to the deploy step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from ecr_autodeploy.core.config import Config, is_glob
from ecr_autodeploy.core.drift import Drift, DriftState, Listing, assess
from ecr_autodeploy.core.errors import AwsError, NotFoundError
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.model import ImageInfo, RepositoryRef, Service, Snapshot
from ecr_autodeploy.core.records import ServiceItem
from ecr_autodeploy.core.timefmt import iso
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.engine.gather import Gather, Reads
from ecr_autodeploy.engine.ports import LedgerPort


@frozen
class SurveyRow:
    """One mapped (service, repository): what runs, what should, and the last deployment."""

    target: Target
    repository: RepositoryRef
    drift: Drift
    newest: ImageInfo | None = None
    service: Service | None = None
    item: ServiceItem | None = None
    error_code: str | None = None

    @property
    def key(self) -> str:
        """Return the ledger key of the service."""
        return self.target.ref.ledger_key

    @property
    def last_deployment(self) -> tuple[str | None, str | None]:
        """Return (state, ISO time) of the last deployment: ours from the ledger, else ECS's PRIMARY."""
        if self.item is not None and self.item.deployment_id:
            when = self.item.finished_at or self.item.started_at
            return self.item.state, iso(when) if when else None
        primary = self.service.primary if self.service else None
        if primary is None:
            return None, None
        return primary.rollout_state, iso(primary.updated_at) if primary.updated_at else None

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
            "task_definition": self.service.task_definition_arn if self.service else None,
            "newest_digest": self.newest.digest if self.newest else None,
            "newest_tags": list(self.newest.tags) if self.newest else [],
            "newest_pushed_at": iso(self.newest.pushed_at) if self.newest and self.newest.pushed_at else None,
            "drift": self.drift.state,
            "reason": self.drift.reason,
            "last_deployment_state": state,
            "last_deployment_at": when,
            "last_deployment_id": self.item.deployment_id if self.item else None,
            "error_code": self.error_code,
        }


@frozen
class SurveyResult:
    """Every row, plus what could not be surveyed (notes)."""

    rows: tuple[SurveyRow, ...]
    notes: tuple[str, ...] = ()
    repositories: int = 0
    reads: Reads = field(default_factory=Reads)  # what this run read, for the deploy step


class Survey:
    """Gather the status of every mapped service in one region's registry."""

    def __init__(self, config: Config, gather: Gather, ledger: LedgerPort | None) -> None:
        self.config = config
        self.gather = gather
        self.ledger = ledger

    def run(self, region: str) -> SurveyResult:
        """Return the status of every (service, repository) the rules map, for repositories that exist."""
        repositories = self.gather.registry.repositories(region)
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
        reads = Reads()
        listings = self.gather.listings(((region, r.registry_id, r.name) for r, _ in pairs), reads)
        snapshots = self.gather.snapshots(list(dict.fromkeys(t.ref for _, t in pairs)), reads)
        # A force service names a tag: what it really runs is what its tasks report.
        forced = [t.ref for _, t in pairs if t.strategy == "force" and isinstance(snapshots[t.ref], Snapshot)]
        tasks = self.gather.task_digests(forced)
        items = self.ledger.services({t.ref.ledger_key for _, t in pairs}) if self.ledger and pairs else {}
        indexed = {k: v if isinstance(v, AwsError) else Listing(v) for k, v in listings.items()}
        rows = [
            _row(
                repo,
                t,
                indexed[(region, repo.registry_id, repo.name)],
                snapshots[t.ref],
                items.get(t.ref.ledger_key),
                tasks.get(t.ref),
            )
            for repo, t in sorted(pairs, key=lambda p: (p[1].key, p[0].name))
        ]
        return SurveyResult(tuple(rows), tuple(notes), len(repositories), reads)


def _row(
    repo: RepositoryRef,
    target: Target,
    images: Listing | AwsError,
    snapshot: Snapshot | AwsError,
    item: ServiceItem | None,
    tasks: Mapping[str, tuple[str, ...]] | AwsError | None,
) -> SurveyRow:
    failure = next((x for x in (images, snapshot) if isinstance(x, AwsError)), None)
    if failure is not None:
        # A service (or its cluster) that is gone is an outcome, not a retry: it stays gone.
        state: DriftState = "missing" if isinstance(failure, NotFoundError) and failure is snapshot else "error"
        return SurveyRow(target, repo, Drift(state, str(failure)), item=item, error_code=failure.code)
    assert not isinstance(images, AwsError)  # failure covers both
    assert not isinstance(snapshot, AwsError)
    last = item.digest if item is not None and item.repository == repo.name else None
    drift = assess(
        target,
        repo.name,
        snapshot.task_definition,
        images,
        last_digest=last,
        bad=item.failed_digests if item is not None else frozenset(),
        tasks=None if isinstance(tasks, AwsError) else tasks,
    )
    return SurveyRow(target, repo, drift, drift.newest, snapshot.service, item)


def open_deployments(rows: Sequence[SurveyRow]) -> list[tuple[str, Service]]:
    """Return (deployment id, service) for each service whose last deployment of ours is not judged yet."""
    found: dict[str, tuple[str, Service]] = {}
    for row in rows:
        r = row.item
        if r is not None and r.deployment_id and r.state in ("STARTED", "IN_PROGRESS") and row.service is not None:
            found[r.deployment_id] = (r.deployment_id, row.service)
    return list(found.values())
