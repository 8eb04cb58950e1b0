"""Figures and how they are measured: subject ÷ baseline from the same run, medians of interleaved repetitions."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Timed = Callable[[], float]  # runs once, returns the seconds that count (setup left out)


@dataclass(frozen=True)
class Figure:
    """One benchmark figure: the subject, the baseline it is divided by, and the ratio's target (ratio ≤ target)."""

    name: str
    title: str
    subject: float
    baseline: float
    unit: str
    target: float
    samples: int = 1
    baseline_label: str = "baseline"
    spread: tuple[float, float] | None = None  # subject's interquartile range, for timed figures
    notes: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Return subject ÷ baseline."""
        return self.subject / self.baseline if self.baseline else float("inf")

    @property
    def met(self) -> bool:
        """Return whether the ratio is within the target."""
        return self.ratio <= self.target

    def to_dict(self) -> dict[str, Any]:
        """Return the figure as JSON-ready data."""
        return {
            "name": self.name,
            "title": self.title,
            "subject": self.subject,
            "baseline": self.baseline,
            "baseline_label": self.baseline_label,
            "unit": self.unit,
            "ratio": round(self.ratio, 4),
            "target": self.target,
            "met": self.met,
            "samples": self.samples,
            "spread": list(self.spread) if self.spread else None,
            "notes": self.notes,
            "details": self.details,
        }


@dataclass(frozen=True)
class Samples:
    """Interleaved timings of a subject and its baseline, in seconds."""

    subject: tuple[float, ...]
    baseline: tuple[float, ...]

    @property
    def subject_median(self) -> float:
        return statistics.median(self.subject)

    @property
    def baseline_median(self) -> float:
        return statistics.median(self.baseline)

    def spread(self, scale: float = 1.0) -> tuple[float, float]:
        """Return the subject's interquartile range, scaled (e.g. to milliseconds)."""
        q1, _, q3 = statistics.quantiles(self.subject, n=4) if len(self.subject) > 1 else (self.subject[0],) * 3
        return (q1 * scale, q3 * scale)

    def figure(self, name: str, title: str, target: float, *, unit: str = "ms", **extra: Any) -> Figure:
        """Return the figure of these samples in milliseconds."""
        return Figure(
            name,
            title,
            self.subject_median * 1000,
            self.baseline_median * 1000,
            unit,
            target,
            samples=len(self.subject),
            spread=self.spread(1000),
            **extra,
        )


def interleave(subject: Timed, baseline: Timed, reps: int, *, warmup: int = 1) -> Samples:
    """Run subject and baseline `reps` times each, alternating which goes first, after `warmup` unrecorded rounds."""
    for _ in range(warmup):
        subject()
        baseline()
    a: list[float] = []
    b: list[float] = []
    for i in range(reps):
        if i % 2 == 0:
            a.append(subject())
            b.append(baseline())
        else:
            b.append(baseline())
            a.append(subject())
    return Samples(tuple(a), tuple(b))


def process_cpu(pid: int) -> float:
    """Return the CPU seconds (user and system) process `pid` has used so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed(action: Callable[[], object]) -> float:
    """Return the seconds `action` took."""
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def profile_text(actions: Sequence[Callable[[], object]], title: str) -> str:
    """Return a pyinstrument text profile of running `actions` in turn (needs the bench extra)."""
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    profiler.start()
    for action in actions:
        action()
    profiler.stop()
    text: str = profiler.output_text(unicode=False, color=False, show_all=False)
    return f"# {title}\n{without_paths(text)}"


def without_paths(text: str) -> str:
    """Return `text` with this checkout's location removed (results name files relative to the project)."""
    root = str(Path(__file__).resolve().parent.parent)
    return text.replace(root + "/", "").replace(root, ".")
