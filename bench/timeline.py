"""Round trips in sequence: the longest chain of calls each of which starts after the one before it ended.

Calls that overlap (made concurrently) share a round trip; with a modelled delay on every call, the chain is what
the event waits for. The timeline draws every call of one event as a bar.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.instrument import Span

SLACK = 0.002  # seconds: a call starting this close to another's end still overlapped it (thread hand-off)


def sequential(spans: Sequence[Span]) -> int:
    """Return the number of round trips in the longest chain of calls made one after another."""
    return max((d for _, d in _depths(spans)), default=0)


def waves(spans: Sequence[Span]) -> list[list[str]]:
    """Return the calls grouped by their place in the longest chain (the calls of one group overlap)."""
    placed = _depths(spans)
    groups: list[list[str]] = [[] for _ in range(max((d for _, d in placed), default=0))]
    for span, depth in placed:
        groups[depth - 1].append(span.operation)
    return groups


def _depths(spans: Sequence[Span]) -> list[tuple[Span, int]]:
    """Return each call (in start order) with the length of the longest chain that ends with it."""
    ordered = sorted(spans, key=lambda s: s.start)
    depths: list[int] = []
    for i, span in enumerate(ordered):
        before = [depths[j] for j in range(i) if ordered[j].end <= span.start + SLACK]
        depths.append(1 + max(before, default=0))
    return list(zip(ordered, depths, strict=True))


def render(spans: Sequence[Span], ms_per_char: float = 5.0) -> list[str]:
    """Return one line per call: start and end (ms from the first call), the operation and a bar."""
    if not spans:
        return []
    ordered = sorted(spans, key=lambda s: s.start)
    origin = ordered[0].start
    width = max(len(s.operation) for s in ordered)
    lines = []
    for s in ordered:
        begin, end = (s.start - origin) * 1000, (s.end - origin) * 1000
        bar = " " * int(begin / ms_per_char) + "#" * max(1, round((end - begin) / ms_per_char))
        lines.append(f"{begin:6.0f} {end:6.0f} ms  {s.operation.ljust(width)}  {bar}")
    return lines
