"""botocore event hooks for the benchmarks: count every AWS request by operation, optionally add network latency,
and keep each call's span (start and end) for the round-trip timelines.

The same hooks go on the project's clients (`InstrumentedClients`, the real Clients factory) and on the bare boto3
clients of the baselines (`instrument`), so that both sides are measured alike.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import boto3

from ecr_autodeploy.aws.clients import RETRY_CONFIG, Clients

_STARTED = "bench_started"  # the key of a call's start in botocore's per-call context


@dataclass(frozen=True)
class Span:
    """One AWS call, from the client's first step to its parsed answer (seconds on the perf_counter clock)."""

    operation: str
    start: float
    end: float


@dataclass
class Meter:
    """Counts requests by ``service.Operation``; sleeps `latency` seconds before each, like a network round trip.

    Every call's span is kept too (before-call to after-call), so that concurrent calls can be told from
    sequential ones.
    """

    latency: float = 0.0
    calls: Counter[str] = field(default_factory=Counter)
    spans: list[Span] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, event_name: str, **kwargs: Any) -> None:
        service, operation = event_name.split(".", 2)[1:]
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1
        if self.latency:
            # Sleeping releases the interpreter lock, as waiting on a socket does: concurrency can hide it.
            time.sleep(self.latency)

    def started(self, event_name: str, context: dict[str, Any], **kwargs: Any) -> None:
        """Note when a call starts (botocore's before-call)."""
        context[_STARTED] = time.perf_counter()

    def ended(self, event_name: str, context: dict[str, Any], **kwargs: Any) -> None:
        """Keep the span of a call that has its answer (botocore's after-call)."""
        end = time.perf_counter()
        service, operation = event_name.split(".", 2)[1:]
        with self._lock:
            self.spans.append(Span(f"{service}.{operation}", float(context.get(_STARTED, end)), end))

    def reset(self) -> Counter[str]:
        """Return the counts so far and start again from zero (the spans too)."""
        with self._lock:
            counts, self.calls = self.calls, Counter()
            self.spans = []
        return counts

    def take_spans(self) -> list[Span]:
        """Return the spans so far, in start order, and start again from none (the counts too)."""
        with self._lock:
            spans, self.spans = self.spans, []
            self.calls = Counter()
        return sorted(spans, key=lambda s: s.start)


def instrument(client: Any, meter: Meter) -> Any:
    """Hook `meter` onto a boto3 client; return the client."""
    events = client.meta.events
    events.register("before-send", meter)
    events.register("before-call", meter.started)
    events.register("after-call", meter.ended)
    return client


def bare_client(service: str, endpoint: str, meter: Meter, region: str = "us-east-1") -> Any:
    """Return a plain boto3 client, configured as the project's clients are, with `meter` hooked on."""
    session = boto3.session.Session(region_name=region)
    return instrument(session.client(service, endpoint_url=endpoint, config=RETRY_CONFIG), meter)  # type: ignore[call-overload]


class InstrumentedClients(Clients):
    """The project's client factory, with `meter` hooked onto every client it makes."""

    def __init__(self, meter: Meter, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.meter = meter
        self._seen: set[int] = set()
        self._seen_lock = threading.Lock()

    def client(self, service: str, region: str | None = None, role_arn: str | None = None) -> Any:
        """Return the cached client, instrumented on first sight."""
        found = super().client(service, region, role_arn)
        with self._seen_lock:
            if id(found) not in self._seen:
                instrument(found, self.meter)
                self._seen.add(id(found))
        return found
