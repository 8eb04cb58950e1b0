"""The dry-run executor: the same plans as the executor, only said, never applied.

With a ledger it reads the claims a real run would meet (read-only), so a dry run says ``duplicate`` where the
real run would.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

from ecr_autodeploy.core.errors import AutodeployError, AwsError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.outcomes import Outcome, plan_outcome
from ecr_autodeploy.core.planning import Plan
from ecr_autodeploy.core.records import Claim, ServiceItem
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, concurrently
from ecr_autodeploy.engine.executor import Applied, claimed_before
from ecr_autodeploy.engine.ports import LedgerPort


class DryRunExecutor:
    """Say what each plan would do; change nothing."""

    def __init__(
        self,
        ledger: LedgerPort | None = None,
        *,
        clock: Callable[[], float] = time.time,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.ledger = ledger
        self._clock = clock
        self._max_workers = max_workers

    def claim(
        self, wanted: Sequence[tuple[ServiceRef, str]], event: ImageEvent, owner: str
    ) -> dict[str, Claim | AutodeployError]:
        """Return no claims: a dry run writes nothing (it reads the claims as it plans)."""
        return {}

    def run(
        self,
        items: Sequence[Plan | Outcome],
        event: ImageEvent,
        owner: str | None,
        claims: Mapping[str, Claim | AutodeployError] | None = None,
        previous: Mapping[str, ServiceItem | None] | None = None,
    ) -> list[Applied]:
        """Return the planned outcome of every plan (a duplicate where the ledger already holds the claim)."""
        return [Applied(o) for o in concurrently(functools.partial(self._one, event=event), items, self._max_workers)]

    def _one(self, item: Plan | Outcome, event: ImageEvent) -> Outcome:
        if isinstance(item, Outcome):
            return item
        planned = plan_outcome(item, event, dry_run=True)
        # A deployment a gate holds back is still claimed already when the real run would meet a duplicate.
        if self.ledger is None or not item.deploys or item.digest is None or event.kind == "manual":
            return planned
        try:
            claim = self.ledger.read_claim(item.target.ref.ledger_key, item.digest)
        except AwsError as err:
            return replace(planned, reason=f"{planned.reason}; the ledger's claim could not be read: {err}")
        lapsed = claim is not None and claim.state == "claimed" and (claim.lease_until or 0) < self._clock()
        if claim is None or lapsed:
            return planned
        return claimed_before(planned, item.target.key, claim)
