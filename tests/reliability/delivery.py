"""Asynchronous Lambda delivery, replayed: the first try, two retries on error, then the dead-letter queue."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecr_autodeploy.core.errors import AutodeployError

LAMBDA_RETRIES = 2  # Lambda's default (and maximum) for asynchronous invocations
RETRY_DELAYS = (60.0, 120.0)  # Lambda waits about a minute before the first retry, two before the second


@dataclass
class SimulatedClock:
    """The replay's time: starts now and moves only when told (Lambda's retry delays, the engine's lock polls)."""

    now: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


@dataclass
class Delivery:
    """Deliver events to a handler as Lambda does; only project errors are retried, anything else is a bug."""

    handle: Callable[[Mapping[str, Any]], Any]
    wait: Callable[[float], None] = lambda seconds: None
    retries: int = LAMBDA_RETRIES
    attempts: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    dead_letters: list[Mapping[str, Any]] = field(default_factory=list)
    redriven: int = 0
    results: dict[str, Any] = field(default_factory=dict)

    def deliver(self, event: Mapping[str, Any]) -> bool:
        """Return True when a try succeeded; otherwise the event is in `dead_letters`."""
        for attempt in range(1 + self.retries):
            if attempt:
                self.wait(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1])
            self.attempts += 1
            try:
                self.results[str(event["id"])] = self.handle(event)
            except AutodeployError as err:
                self.errors[type(err).__name__] += 1
                continue
            return True
        self.dead_letters.append(event)
        return False

    def redrive(self) -> list[Mapping[str, Any]]:
        """Deliver every dead letter again (each with its own retries); return those that failed again."""
        letters, self.dead_letters = self.dead_letters, []
        self.redriven += len(letters)
        for event in letters:
            self.deliver(event)
        return list(self.dead_letters)
