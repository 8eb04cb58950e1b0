"""Service locks in the ledger: take many at once, wait for busy ones with backoff, release what is still held.

Shared by deploy (rounds over many services) and rollback (one service). A lock is a lease: a holder that died
frees the service when the lease passes, so a failed release is logged, never raised.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.ledger_items import LOCK_LEASE_SECONDS, LOCK_WAIT_SECONDS
from ecr_autodeploy.core.records import Lock
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, caught, concurrently
from ecr_autodeploy.engine.ports import LedgerPort

LOCK_POLL_SECONDS = 0.05  # first wait for a busy service; doubles up to LOCK_POLL_MAX_SECONDS
LOCK_POLL_MAX_SECONDS = 1.0
logger = logging.getLogger("ecr_autodeploy")


@frozen
class Round:
    """One attempt at many locks: those now held (with the service's item as it was), the busy ones (with their
    holder), and the failed tries."""

    held: dict[str, Lock]
    busy: dict[str, Lock]
    failed: dict[str, AwsError]


class ServiceLocks:
    """Take and release per-service locks in the ledger."""

    def __init__(
        self,
        ledger: LedgerPort,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        wait: float = LOCK_WAIT_SECONDS,
        lease: float = LOCK_LEASE_SECONDS,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.ledger = ledger
        self.lease = lease
        self._clock = clock
        self._sleep = sleep
        self._wait = wait
        self._max_workers = max_workers

    def now(self) -> float:
        """Return the time on the locks' clock."""
        return self._clock()

    def attempts(self) -> Iterator[None]:
        """Yield at once, then after each backoff, until the wait is over (a for-else then means: gave up)."""
        deadline = self._clock() + self._wait
        delay = LOCK_POLL_SECONDS
        while True:
            yield
            if self._clock() >= deadline:
                return
            self._sleep(min(delay, max(0.0, deadline - self._clock())))
            delay = min(delay * 2, LOCK_POLL_MAX_SECONDS)

    def take(self, keys: Sequence[str], owner: str) -> Round:
        """Try every lock once, concurrently."""
        now = self._clock()

        def lock(key: str) -> Lock:
            return self.ledger.lock(key, owner, now, self.lease)

        held: dict[str, Lock] = {}
        busy: dict[str, Lock] = {}
        failed: dict[str, AwsError] = {}
        for key, got in zip(keys, concurrently(caught(lock), keys, self._max_workers), strict=True):
            if isinstance(got, AwsError):
                failed[key] = got
            elif got.acquired:
                held[key] = got
            else:
                busy[key] = got
        return Round(held, busy, failed)

    def acquire(self, key: str, owner: str) -> Lock:
        """Return the lock once taken, or who holds it when the wait is over (an error reads as not acquired)."""
        lock = Lock(False)
        for _ in self.attempts():
            found = self.take([key], owner)
            if key in found.failed:
                return Lock(False, f"error: {found.failed[key].code}")
            if key in found.held:
                return found.held[key]
            lock = found.busy[key]
        return lock

    def release(self, keys: Sequence[str], owner: str) -> None:
        """Release the locks `owner` still holds, concurrently; log, never raise (the lease frees them anyway)."""

        def unlock(key: str) -> None:
            try:
                if not self.ledger.unlock(key, owner):
                    logger.warning(json.dumps({"service": key, "lock": "lease passed before release"}))
            except AwsError as err:
                logger.error(json.dumps({"service": key, "lock": "release failed", "error": str(err)}))

        concurrently(unlock, keys, self._max_workers)
