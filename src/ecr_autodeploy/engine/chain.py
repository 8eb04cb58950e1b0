"""What a judged rollout starts or stops: promotions (``after:``) and the next wave (``max_parallel``).

The function cannot wait for rollouts (120 s), so a fan-out in waves and a promotion between environments move
on when ECS says a rollout COMPLETED: the tracker hands the judged record here and the same engine deploys the
image to the targets that waited for it (their gates judged afresh: the next wave only once the whole wave
completed, a promoted target only once its soak has passed). The scheduled reconcile does the same for what an
event left behind (a soak, a lost ECS event), since every gate is judged from the ledger, never remembered.
A FAILED (or timed-out) rollout in a wave stops the rest of it: they are reported skipped and one message says so.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ecr_autodeploy.core.events import EventKind, ImageEvent, repository_arn
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.messages import started_message, stopped_message
from ecr_autodeploy.core.outcomes import Outcome, target_outcome
from ecr_autodeploy.engine.deploy import Deployer

if TYPE_CHECKING:
    from ecr_autodeploy.core.records import DeploymentRecord


class Chain:
    """Start the deployments a completed rollout lets through; report the fan-out a failed one stops."""

    def __init__(self, deployer: Deployer, *, clock: Callable[[], float] = time.time) -> None:
        self.deployer = deployer
        self._clock = clock

    def completed(self, record: DeploymentRecord) -> list[Outcome]:
        """Deploy the record's image to its promoted followers and its wave's rest; return their outcomes."""
        targets = self._targets(record)
        if not targets:
            return []
        followers = [t for t in targets if t.after is not None and t.after.ledger_key == record.ref.ledger_key]
        chosen = {t.key for t in followers}
        wave = [t for t in self._wave(record, targets) if t.key not in chosen]
        outcomes: list[Outcome] = []
        groups: tuple[tuple[EventKind, list[Target]], ...] = (("promotion", followers), ("wave", wave))
        for kind, group in groups:
            if not group:
                continue
            event = self._event(record, kind)
            found = self.deployer.decide_and_apply(event, group)
            now = self._clock()
            self.deployer.reporter.send([m for o in found if (m := started_message(o, event, now)) is not None])
            # A service already on the image (the rest of this wave, rolling out) has nothing new to report.
            outcomes.extend(o for o in found if o.status != "unchanged")
        return outcomes

    def failed(self, record: DeploymentRecord) -> list[Outcome]:
        """Return the targets of a wave that a failed rollout stops (skipped), after saying so once."""
        wave = self._wave(record, self._targets(record))
        ledger = self.deployer.ledger
        if not wave or ledger is None or not record.image.digest:
            return []
        items = ledger.services(t.ref.ledger_key for t in wave)
        digest = record.image.digest
        stopped = [t for t in wave if (item := items.get(t.ref.ledger_key)) is None or item.digest != digest]
        if not stopped:
            return []
        self.deployer.reporter.send([stopped_message(record, [t.key for t in stopped])])
        reason = (
            f"the rollout of {digest} FAILED on {record.ref.key}: max_parallel stops the rest of the fan-out "
            "(a newer image, or a deploy by hand, moves it on)"
        )
        event = self._event(record, "wave")
        return [replace(target_outcome(t, event, "skipped", reason), gate="wave") for t in stopped]

    def _targets(self, record: DeploymentRecord) -> list[Target]:
        repository = record.image.repository
        if not repository or not record.image.digest:
            return []
        region = record.registry_region or record.ref.region
        arn = repository_arn(record.image.account or "", region, repository)
        targets, _ = map_repository(self.deployer.config, repository, arn, region)
        return targets

    def _wave(self, record: DeploymentRecord, targets: list[Target]) -> list[Target]:
        """Return the other targets of the record's rule, when that rule deploys in waves."""
        return [
            t
            for t in targets
            if t.rule is not None
            and t.rule == record.rule
            and t.gates is not None
            and t.gates.max_parallel is not None
            and t.key != record.ref.key
        ]

    def _event(self, record: DeploymentRecord, kind: EventKind) -> ImageEvent:
        repository = record.image.repository or ""
        region = record.registry_region or record.ref.region
        account = record.image.account or ""
        return ImageEvent(
            kind,
            f"{kind}-{uuid.uuid4()} after {record.deployment_id}",
            datetime.now(UTC).isoformat(timespec="seconds"),
            account,
            region,
            repository,
            repository_arn(account, region, repository),
            record.image.tag,
            record.image.digest,
            source_account=record.image.source_account,
            source_region=record.image.source_region,
        )
