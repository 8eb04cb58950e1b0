"""What a user gets: the Lambda zip's size and the ``demo`` command's wall time, each ÷ its budget.

These two targets are absolute (the zip's SIZE_TARGET, 200 KB; 20 s), so the baseline is the budget itself. The
zip is built by the project's own packaging, the same bytes ``ecr-autodeploy package`` writes; for scale, the
details also give the size of a zip of every module of the package (what shipping the whole package would cost).
The demo runs as a user runs it, in a fresh process.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from bench.measure import Figure
from ecr_autodeploy.aws.lambda_package import SIZE_TARGET

ZIP_BUDGET_KB = SIZE_TARGET / 1024
DEMO_BUDGET_S = 20.0
DEMO_RUNS = 3


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the zip-size and demo figures."""
    del profile_dir  # a missed budget here is explained by the file list and the demo's own timeline
    return [_zip(), _demo(max(1, min(reps, DEMO_RUNS)))]


def _zip() -> Figure:
    from ecr_autodeploy.aws.lambda_package import build_package

    package = build_package()
    return Figure(
        "lambda_zip",
        "Lambda zip size",
        package.size / 1024,
        ZIP_BUDGET_KB,
        "KB",
        1.0,
        baseline_label="budget",
        details={"files": len(package.files), "whole_package_kb": round(_whole_package_kb(), 1)},
    )


def _whole_package_kb() -> float:
    import ecr_autodeploy

    root = Path(ecr_autodeploy.__file__).resolve().parent
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(root.rglob("*.py")):
            archive.write(path, path.relative_to(root.parent))
    return len(buffer.getvalue()) / 1024


def _demo(runs: int) -> Figure:
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "ecr_autodeploy", "demo", "--json"], capture_output=True, text=True, check=False
        )
        walls.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(f"demo failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return Figure(
        "demo",
        "`ecr-autodeploy demo` wall time",
        statistics.median(walls),
        DEMO_BUDGET_S,
        "s",
        1.0,
        samples=runs,
        baseline_label="budget",
        details={"runs_s": [round(w, 2) for w in walls]},
    )
