"""Running one piece of work per item on a bounded thread pool, without one failure stopping the others."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from ecr_autodeploy.core.errors import AwsError

# Concurrent AWS calls per phase: at most the connections one client keeps (aws/clients.py RETRY_CONFIG,
# max_pool_connections=32); beyond that urllib3 discards connections and every extra call opens a new one.
MAX_WORKERS = 32
_T = TypeVar("_T")
_R = TypeVar("_R")
_A = TypeVar("_A")
_B = TypeVar("_B")


def concurrently(work: Callable[[_T], _R], items: Sequence[_T], max_workers: int = MAX_WORKERS) -> list[_R]:
    """Return work(item) for every item, in order: in this thread for one item, else on up to max_workers threads.

    Raise what the first failing item (in order) raised, once every item has run.
    """
    if len(items) < 2:
        # Starting and joining a thread costs more than the engine's own work on a one-target event.
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        # Not pool.map: it cancels the items not yet started when one fails, and every item must run.
        futures = [pool.submit(work, item) for item in items]
        return [f.result() for f in futures]


def caught(work: Callable[[_T], _R]) -> Callable[[_T], _R | AwsError]:
    """Return `work` returning, not raising, its AwsError: one target's failure must not stop the others."""

    def run(item: _T) -> _R | AwsError:
        try:
            return work(item)
        except AwsError as err:
            return err

    return run


def together(first: Callable[[], _A], second: Callable[[], _B]) -> tuple[_A, _B]:
    """Return the results of two independent calls made at once (one round trip for both); raise the first's error.

    The second runs on a thread of its own; both always finish before this returns.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        later = pool.submit(second)
        try:
            a = first()
        finally:
            b = later.result()
    return a, b
