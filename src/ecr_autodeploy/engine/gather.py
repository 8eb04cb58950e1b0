"""Gather: read what a decision needs, batched and concurrent; shared by deploy, survey, track and rollback.

Services are described 10 per DescribeServices call (its limit), every batch at once; each distinct revision is
described once; repository listings and image lookups are shared by every target that needs them. `Reads` holds
what one run (an event, a reconcile) has read already: a revision never changes once registered, and a listing
read seconds ago still knows every image pushed before it, so neither is read twice in one run. Services are
always described afresh: the revision a service runs can change at any time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.model import ImageInfo, Service, ServiceRef, Snapshot, TaskDefinition
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, caught, concurrently
from ecr_autodeploy.engine.ports import ClusterPort, RegistryPort

if TYPE_CHECKING:
    from ecr_autodeploy.core.pauses import Pauses

SERVICES_PER_DESCRIBE = 10  # DescribeServices takes at most 10 services a call
TASK_DEFINITIONS_KEPT = 1000  # revisions a warm function remembers between runs (a revision with its tags is a few KB)
RevisionKey = tuple[str, str | None, str]  # (region, role ARN, task-definition ARN)
ListingKey = tuple[str, str, str]  # (region, registry id, repository)


@dataclass
class Reads:
    """What one run has read already: revisions by (region, role, ARN), repository listings, the pauses."""

    task_definitions: dict[RevisionKey, TaskDefinition] = field(default_factory=dict)
    listings: dict[ListingKey, tuple[ImageInfo, ...]] = field(default_factory=dict)
    pauses: Pauses | None = None  # read once per run (engine/gates.py)


class RevisionCache:
    """Revisions remembered across runs, least recently used first out (their tags may have changed since)."""

    def __init__(self, keep: int = TASK_DEFINITIONS_KEPT) -> None:
        self._keep = keep
        self._known: dict[RevisionKey, TaskDefinition] = {}  # oldest use first
        self._lock = threading.Lock()

    def take(self, keys: Iterable[RevisionKey]) -> dict[RevisionKey, TaskDefinition]:
        """Return the remembered revisions among `keys`, marking them used."""
        found = {}
        with self._lock:
            for key in keys:
                if key in self._known:
                    found[key] = self._known[key] = self._known.pop(key)
        return found

    def keep(self, revisions: Mapping[RevisionKey, TaskDefinition]) -> None:
        """Remember revisions, dropping the least recently used beyond the limit."""
        with self._lock:
            self._known.update(revisions)
            for key in list(self._known)[: max(0, len(self._known) - self._keep)]:
                del self._known[key]


class Remembered:
    """What a warm function remembers of each service between events: the revision it last saw it run, and the
    digest it last forced there. A force deploy needs nothing else (ECS re-pulls the tag the revision names), so
    a warm force event costs DescribeImages and UpdateService; UpdateService's answer tells if the memory was stale.
    """

    def __init__(self, keep: int = TASK_DEFINITIONS_KEPT) -> None:
        self.revisions = RevisionCache(keep)
        self._runs: dict[ServiceRef, str] = {}
        self._forced: dict[ServiceRef, str] = {}
        self._lock = threading.Lock()

    def snapshot(self, ref: ServiceRef) -> Snapshot | None:
        """Return the service as last seen (no deployments known), or None when it was not seen."""
        with self._lock:
            arn = self._runs.get(ref)
        if arn is None:
            return None
        found = self.revisions.take([revision_key(ref, arn)])
        td = found.get(revision_key(ref, arn))
        return Snapshot(Service(ref, "", arn), td) if td is not None else None

    def saw(self, snapshot: Snapshot) -> None:
        """Remember the revision a service runs."""
        ref = snapshot.service.ref
        with self._lock:
            self._runs[ref] = snapshot.service.task_definition_arn
        self.revisions.keep({revision_key(ref, snapshot.task_definition.arn): snapshot.task_definition})

    def moved(self, ref: ServiceRef, arn: str) -> None:
        """Remember that a service now runs `arn` (an UpdateService answer said so)."""
        with self._lock:
            self._runs[ref] = arn

    def forced(self, ref: ServiceRef, digest: str | None = None) -> str | None:
        """Return the digest last forced on the service; with `digest`, remember that one first."""
        with self._lock:
            if digest is not None:
                self._forced[ref] = digest
            return self._forced.get(ref)


def revision_key(ref: ServiceRef, arn: str) -> RevisionKey:
    """Return the key of a revision as a service reaches it."""
    return (ref.region, ref.role_arn, arn)


class Gather:
    """Read services, revisions and images for the use cases."""

    def __init__(
        self,
        cluster: ClusterPort,
        registry: RegistryPort,
        *,
        max_workers: int = MAX_WORKERS,
        cache: RevisionCache | None = None,
        remembered: Remembered | None = None,
    ) -> None:
        self.cluster = cluster
        self.registry = registry
        self.remembered = remembered
        self._max_workers = max_workers
        self._cache = cache

    def services(self, refs: Iterable[ServiceRef]) -> dict[ServiceRef, Service | AwsError]:
        """Return every service (or why it could not be read): 10 per call, every batch at once.

        A failed call fails its whole (region, role, cluster) group, as when one call described it all: the
        targets of one cluster are retried together.
        """
        groups: dict[tuple[str, str | None, str], list[ServiceRef]] = {}
        for ref in dict.fromkeys(refs):
            groups.setdefault(ref.group, []).append(ref)
        batches = [
            members[start : start + SERVICES_PER_DESCRIBE]
            for members in groups.values()
            for start in range(0, len(members), SERVICES_PER_DESCRIBE)
        ]
        answers = concurrently(caught(self.cluster.services), batches, self._max_workers)
        failed: dict[tuple[str, str | None, str], AwsError] = {}
        found: dict[ServiceRef, Service | AwsError] = {}
        for batch, answer in zip(batches, answers, strict=True):
            if isinstance(answer, AwsError):
                failed.setdefault(batch[0].group, answer)
            else:
                found.update(answer)
        for group, err in failed.items():
            found.update(dict.fromkeys(groups[group], err))
        return found

    def revisions(
        self, wanted: Iterable[tuple[ServiceRef, str]], reads: Reads
    ) -> dict[RevisionKey, TaskDefinition | AwsError]:
        """Return each distinct revision once: from this run's reads, the cache, or DescribeTaskDefinition."""
        where = {revision_key(ref, arn): ref for ref, arn in wanted}
        found: dict[RevisionKey, TaskDefinition | AwsError] = {
            key: reads.task_definitions[key] for key in where if key in reads.task_definitions
        }
        if self._cache is not None:
            found.update(self._cache.take(key for key in where if key not in found))
        missing = [key for key in where if key not in found]

        def describe(key: RevisionKey) -> TaskDefinition:
            return self.cluster.task_definition(where[key], key[2])

        read = dict(zip(missing, concurrently(caught(describe), missing, self._max_workers), strict=True))
        found.update(read)
        described = {key: td for key, td in read.items() if not isinstance(td, AwsError)}
        reads.task_definitions.update(described)
        if self._cache is not None:
            self._cache.keep(described)
        return found

    def snapshots(
        self,
        refs: Sequence[ServiceRef],
        reads: Reads,
        described: Mapping[ServiceRef, Service | AwsError] | None = None,
    ) -> dict[ServiceRef, Snapshot | AwsError]:
        """Return every service with the revision it runs (or why either could not be read).

        `described` holds services the caller described just now (concurrently with taking their locks).
        """
        known = dict(described or {})
        services = {**known, **self.services([r for r in refs if r not in known])} if len(known) < len(refs) else known
        live = [(ref, svc) for ref, svc in services.items() if not isinstance(svc, AwsError)]
        revisions = self.revisions(((ref, svc.task_definition_arn) for ref, svc in live), reads)
        result: dict[ServiceRef, Snapshot | AwsError] = {}
        for ref in refs:
            svc = services[ref]
            if isinstance(svc, AwsError):
                result[ref] = svc
                continue
            td = revisions[revision_key(ref, svc.task_definition_arn)]
            if isinstance(td, AwsError):
                result[ref] = td
                continue
            result[ref] = Snapshot(svc, td)
            if self.remembered is not None:
                self.remembered.saw(Snapshot(svc, td))
        return result

    def task_digests(self, refs: Sequence[ServiceRef]) -> dict[ServiceRef, dict[str, tuple[str, ...]] | AwsError]:
        """Return, per service, the image digests its running tasks report per container (all services at once)."""
        found = concurrently(caught(self.cluster.task_digests), list(refs), self._max_workers)
        return dict(zip(refs, found, strict=True))

    def listings(self, keys: Iterable[ListingKey], reads: Reads) -> dict[ListingKey, tuple[ImageInfo, ...] | AwsError]:
        """Return every image of each repository: this run's listing, else read now (all repositories at once)."""
        wanted = list(dict.fromkeys(keys))
        missing = [key for key in wanted if key not in reads.listings]

        def listing(key: ListingKey) -> tuple[ImageInfo, ...]:
            return tuple(self.registry.listing(*key))

        read = dict(zip(missing, concurrently(caught(listing), missing, self._max_workers), strict=True))
        reads.listings.update({k: v for k, v in read.items() if not isinstance(v, AwsError)})
        return {key: reads.listings.get(key) or read[key] for key in wanted}

    def images(self, key: ListingKey, digests: Sequence[str], reads: Reads) -> dict[str, ImageInfo]:
        """Return the images with these digests (the first must exist): from this run's listing when it has them."""
        listed = {i.digest: i for i in reads.listings.get(key, ())}
        wanted = list(dict.fromkeys(digests))
        if listed and all(d in listed for d in wanted):
            return {d: listed[d] for d in wanted}
        # Not listed in this run (or pushed since the listing): its push time keeps an older one from replacing it.
        return self.registry.images(*key, wanted)
