"""Split a fan-out across invocations: keep the first batch, hand every other one to the function itself.

The batches are handed over at once (one round trip for all of them), before this invocation deploys its own,
so they run in parallel. A batch that could not be handed over is a failed outcome for its services: the event
raises, Lambda retries it, and the ledger's claims keep the batches that did run from deploying twice.
core/fanout.py describes the batch event.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Sequence
from dataclasses import replace

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.fanout import Batch, batch_event, chunks
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.outcomes import Outcome, failed_outcome, target_outcome
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, caught, concurrently
from ecr_autodeploy.engine.ports import FanOutPort

logger = logging.getLogger("ecr_autodeploy")


class FanOut:
    """Split the targets of one image over invocations of at most `size` services each."""

    def __init__(self, port: FanOutPort, size: int, *, max_workers: int = MAX_WORKERS) -> None:
        self.port = port
        self.size = size
        self._max_workers = max_workers

    def split(
        self, event: ImageEvent, targets: Sequence[Target], keep: int | None = None
    ) -> tuple[list[Target], list[Outcome]]:
        """Return (the targets this invocation deploys, a `dispatched` or `failed` outcome per target handed on).

        This invocation keeps `keep` targets (default: one batch); reconcile passes what is left of its batch.
        The targets of a ``max_parallel`` rule are never handed on: its waves are judged over all of them at
        once (core/gates.py), which batches deciding apart could not do; they stay here, whatever `keep` says.
        """
        unique = list({t.key: t for t in targets}.values())  # as the deploy keeps them: one per service
        waves = [t for t in unique if t.gates is not None and t.gates.max_parallel is not None]
        free = [t for t in unique if t.gates is None or t.gates.max_parallel is None]
        room = max(0, (self.size if keep is None else keep) - len(waves))
        if self.size <= 0 or len(free) <= room:
            return list(targets), []
        mine, rest = [*waves, *free[:room]], chunks(free[room:], self.size)
        groups = [mine, *rest] if mine else rest
        events = [
            batch_event(event, [t.ref.ledger_key for t in group], index, len(groups))
            for index, group in enumerate(rest, start=len(groups) - len(rest) + 1)
        ]
        handed = concurrently(caught(self.port.dispatch), events, self._max_workers)
        outcomes: list[Outcome] = []
        for index, (group, request) in enumerate(zip(rest, handed, strict=True), start=len(groups) - len(rest) + 1):
            where = f"batch {index} of {len(groups)}"
            if isinstance(request, AwsError):
                logger.error(json.dumps({"event": event.event_id, "fan-out": where, "error": str(request)}))
                outcomes.extend(failed_outcome(t, event, request) for t in group)
                continue
            reason = f"handed to another invocation with {where} (request {request}), which reports it"
            outcomes.extend(target_outcome(t, event, "dispatched", reason) for t in group)
        logger.info(json.dumps({"event": event.event_id, "fan-out": len(unique), "batches": len(groups)}))
        return mine, outcomes


def batch_targets(batch: Batch, mapped: Sequence[Target]) -> tuple[list[Target], list[Outcome]]:
    """Return (the mapped targets the batch names, a skipped outcome per named service the rules no longer map)."""
    wanted = set(batch.targets)
    chosen = [t for t in mapped if t.ref.ledger_key in wanted]
    found = {t.ref.ledger_key for t in chosen}
    skip = functools.partial(_unmapped, batch)
    return chosen, [skip(key) for key in batch.targets if key not in found]


def _unmapped(batch: Batch, key: str) -> Outcome:
    event = batch.event
    reason = f"{batch.label} names {key}, which no rule maps {event.repository} to now: not deployed"
    return replace(
        Outcome("skipped", reason, target=key, repository=event.repository),
        tag=event.tag,
        digest=event.digest,
    )
