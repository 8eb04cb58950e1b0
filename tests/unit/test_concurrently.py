"""deploy.concurrently: the one way the engine runs a phase's AWS calls at once."""

from __future__ import annotations

import threading
import time

import pytest

from ecr_autodeploy.aws.clients import RETRY_CONFIG
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, concurrently


def test_a_single_item_runs_in_the_callers_thread() -> None:
    assert concurrently(lambda _: threading.get_ident(), ["one"], 8) == [threading.get_ident()]
    assert concurrently(lambda _: threading.get_ident(), [], 8) == []


def test_several_items_run_on_at_most_max_workers_threads_and_come_back_in_order() -> None:
    running = 0
    most = 0
    guard = threading.Lock()

    def work(i: int) -> tuple[int, int]:
        nonlocal running, most
        with guard:
            running += 1
            most = max(most, running)
        time.sleep(0.01)  # long enough for the pool's threads to overlap
        with guard:
            running -= 1
        return i, threading.get_ident()

    results = concurrently(work, list(range(12)), 3)

    assert [i for i, _ in results] == list(range(12))
    assert threading.get_ident() not in {ident for _, ident in results}
    assert most == 3


def test_the_first_failure_in_order_is_raised_after_every_item_ran() -> None:
    ran: list[int] = []

    def work(i: int) -> int:
        if i in (1, 3):
            raise ValueError(f"item {i}")
        if i > 1:
            time.sleep(0.02)  # both threads are still busy when item 1's failure comes back: item 4 is queued
        ran.append(i)
        return i

    with pytest.raises(ValueError, match="item 1"):
        concurrently(work, [0, 1, 2, 3, 4], 2)
    assert sorted(ran) == [0, 2, 4]


def test_no_more_calls_at_once_than_a_client_keeps_connections() -> None:
    # Above max_pool_connections urllib3 discards connections: every extra concurrent call would open a new one.
    assert vars(RETRY_CONFIG)["max_pool_connections"] >= MAX_WORKERS
