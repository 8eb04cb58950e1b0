"""``python -m bench [NAME ...] [--reps N] [--no-profile]``: run the benchmarks, print a table, write JSON.

Every figure is subject ÷ baseline from the same run (medians of interleaved repetitions for timings). Results
go to bench/results/latest.json (git-ignored); a pyinstrument profile is written next to it for every timed figure
that misses its target. BENCHMARKS.md keeps the figures that are published.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from importlib import import_module
from importlib.metadata import version
from pathlib import Path
from typing import Any

from bench.measure import Figure

RESULTS = Path(__file__).resolve().parent / "results"
# name -> default repetitions (timed figures) or events averaged (counts)
BENCHMARKS: dict[str, int] = {
    "cold_init": 21,
    "warm_event": 31,
    "seed_compare": 21,
    "round_trips": 5,
    "calls": 5,
    "fan_out": 9,
    "scale": 1,
    "reconcile": 1,
    "artifact": 3,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks; return 0 (missed targets are reported, not failures)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run the benchmarks, print a table, write JSON (bench/results/)."
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--reps", type=int, help="repetitions for every benchmark (default: each one's own)")
    parser.add_argument("--no-profile", action="store_true", help="do not profile figures that miss their target")
    parser.add_argument("--json", type=Path, default=RESULTS / "latest.json", help="where to write the results")
    args = parser.parse_args(argv)
    unknown = [n for n in args.names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r} (choose from {', '.join(BENCHMARKS)})")
    _isolate_aws_environment()
    logging.disable(logging.CRITICAL)  # the engine's decision log would interleave with the table
    RESULTS.mkdir(exist_ok=True)
    profile_dir = None if args.no_profile else RESULTS
    figures: list[Figure] = []
    for name in args.names or list(BENCHMARKS):
        run: Callable[[int, Path | None], list[Figure]] = import_module(f"bench.{name}").run
        started = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        figures.extend(run(args.reps or BENCHMARKS[name], profile_dir))
        print(f"  {name} took {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    print(table(figures))
    document = {"machine": machine(), "figures": [f.to_dict() for f in figures]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"\nwrote {_shown(args.json)}", file=sys.stderr)
    return 0


def table(figures: Sequence[Figure]) -> str:
    """Return the figures as an aligned text table."""
    rows = [("FIGURE", "SUBJECT", "BASELINE", "RATIO", "TARGET", "MET")]
    for f in figures:
        rows.append(
            (
                f.title,
                f"{_number(f.subject)} {f.unit}",
                f"{_number(f.baseline)} {f.unit} ({f.baseline_label})",
                f"{f.ratio:.3f}",
                f"<= {f.target:g}",
                "yes" if f.met else "NO",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    """Return what the figures depend on: CPUs, CPU model, Python and library versions (no host names or paths)."""
    return {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_model": _cpu_model(),
        "system": f"{platform.system()} {platform.machine()}",
        "python": platform.python_version(),
        "boto3": version("boto3"),
        "botocore": version("botocore"),
        "moto": version("moto"),
        "date": time.strftime("%Y-%m-%d"),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.1f}"


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return path.name


def _isolate_aws_environment() -> None:
    """Fake credentials and no shared config: every call goes to the local emulator, never to AWS."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_SESSION_TOKEN",
        "AUTODEPLOY_CONFIG",
        "AUTODEPLOY_LEDGER_TABLE",
    ):
        os.environ.pop(name, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_REGION="us-east-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )


if __name__ == "__main__":
    sys.exit(main())
