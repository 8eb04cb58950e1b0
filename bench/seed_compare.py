"""The original glue side by side: our handler in force mode ÷ the Node.js Lambda it replaces (bench/seed/).

The original is what teams run today: a Node.js 20 Lambda that maps the repository ARN to a cluster and a service
with two regexes and calls ``UpdateService(forceNewDeployment=true)``, one call. Ours runs in seed-compatible mode
from the same two variables (ECR_CLUSTER_REGEX, ECR_SERVICE_REGEX) with AUTODEPLOY_STRATEGY=force and no ledger,
as the original has none: DescribeImages (the image must be in ECR before the service is told to pull it) and
UpdateService, two calls. Both run against the same emulator and deploy a freshly pushed image to the same
service, alternately.

* warm: one event at a time through a loaded handler (ours in this process, the original in one node process that
  reads events from its stdin), each timed inside its own process;
* cold: a fresh process loads the handler (ours: import and wire from the environment, in an init Lambda names
  ``on-demand`` as it names every init, so the handler holds the cycle collector while it starts; the original:
  import the SDK and create its client) and handles one event; also Python's floor, a fresh process that imports
  boto3, creates an ECS client and makes the original's one call, with Python's collector as it comes. Timed
  from the process's first statement, so the runtimes' own start (the same for every function of a runtime) is
  left out; whole-process times are in the details.

Needs node and npm (``npm ci`` in bench/seed installs the pinned SDK on first use); without them the benchmark says
so and returns no figure.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

from bench.app import function_environment, wired_app
from bench.fleet import Fleet, new_image_event
from bench.instrument import Meter
from bench.measure import Figure, interleave, timed
from bench.server import Server, moto_server

SEED = Path(__file__).resolve().parent / "seed"
TARGET = 2.0  # two calls against one: DescribeImages must gate UpdateService
COLD_MARGIN = 1.05  # our cold start over Python's floor, as cold_init's target
CLUSTER, SERVICE, REPOSITORY = "seed", "api", "seed/api"
FORCED_TAG = "v0"  # what the services' task definitions name (bench/fleet.py): each new image moves it
SEED_ENV = {
    "ECR_CLUSTER_REGEX": r"repository/([^/]+)/",
    "ECR_SERVICE_REGEX": r"repository/[^/]+/([^/]+)$",
    "AUTODEPLOY_STRATEGY": "force",
}

OURS_COLD = """
import time
start = time.perf_counter()
import json, os
import ecr_autodeploy.handler as handler
result = handler.handler(json.loads(os.environ["BENCH_EVENT"]), None)
assert [o["status"] for o in result["outcomes"]] == ["deployed"], result
print(time.perf_counter() - start)
"""

FLOOR_COLD = """
import time
start = time.perf_counter()
import boto3
from botocore.config import Config
config = Config(retries={{"mode": "standard", "total_max_attempts": 3}}, connect_timeout=2, read_timeout=8)
ecs = boto3.session.Session().client("ecs", config=config)
ecs.update_service(cluster={cluster!r}, service={service!r}, forceNewDeployment=True)
print(time.perf_counter() - start)
"""


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the warm, calls and cold figures against the original glue; none when node is missing."""
    del profile_dir  # the original makes one call: the difference is the calls, the SDK and the runtime
    missing = _node_missing()
    if missing:
        print(f"  seed_compare skipped: {missing}", file=sys.stderr)
        return []
    with moto_server() as server:
        fleet = Fleet(server.endpoint)
        fleet.build(CLUSTER, REPOSITORY, [SERVICE])
        warm = _warm(server, fleet, reps)
        cold = _cold(server, fleet, max(5, reps // 2))
    return [*warm, cold]


def _node_missing() -> str | None:
    """Return why the original cannot run here, or None once its SDK is installed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "node and npm are needed to run the original Node.js glue (bench/seed)"
    if not (SEED / "node_modules" / "@aws-sdk" / "client-ecs").is_dir():
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"], cwd=SEED, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            return f"npm ci in bench/seed failed: {done.stderr.strip()[-300:]}"
    return None


def _environment(endpoint: str, **extra: str) -> dict[str, str]:
    """Return the environment of a function process: the emulator and the seed variables."""
    return function_environment(AWS_ENDPOINT_URL=endpoint, **SEED_ENV, **extra)


def _event(server: Server, fleet: Fleet) -> dict[str, Any]:
    """Complete the last sample's deployment and push a new image; return its replication event (setup)."""
    server.settle()
    return new_image_event(fleet, REPOSITORY, FORCED_TAG)


def _warm(server: Server, fleet: Fleet, reps: int) -> list[Figure]:
    meter = Meter()
    ours = wired_app(server.endpoint, meter, SEED_ENV)
    node = subprocess.Popen(
        ["node", str(SEED / "warm.mjs")],
        cwd=SEED,
        env=_environment(server.endpoint),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert node.stdin is not None
    assert node.stdout is not None
    to_node, from_node = node.stdin, node.stdout
    node_calls: list[int] = []
    ours_calls: list[Counter[str]] = []
    try:

        def subject() -> float:
            event = _event(server, fleet)
            result: dict[str, Any] = {}
            meter.reset()
            seconds = timed(lambda: result.update(ours.handle(event).to_dict()))
            ours_calls.append(meter.reset())
            assert [o["status"] for o in result["outcomes"]] == ["deployed"], result
            return seconds

        def baseline() -> float:
            answer = _ask(to_node, from_node, _event(server, fleet))
            assert answer["result"]["deployed"], answer
            node_calls.append(int(answer["calls"]))
            return float(answer["ms"]) / 1000

        samples = interleave(subject, baseline, reps)
    finally:
        node.stdin.close()
        node.wait(timeout=10)
    first, *rest = ours_calls  # the warm-up round's event was the function's first: it reads the service too
    per_event = statistics.median(sum(c.values()) for c in rest)
    per_call = {k: v / len(rest) for k, v in sorted(sum(rest, Counter()).items())}
    warm = samples.figure(
        "seed_warm",
        "Force mode per event ÷ the original Node.js glue (warm)",
        TARGET,
        baseline_label="original Node.js glue, 1 call",
        details={
            "baseline_ms_iqr": _iqr(samples.baseline),
            "ours_calls_per_event": per_call,
            "ours_calls_first_event": dict(sorted(first.items())),
            "original_calls_per_event": sum(node_calls) / len(node_calls),
        },
    )
    figure_calls = Figure(
        "seed_calls",
        "AWS calls per event, force mode ÷ the original glue (warm)",
        per_event,
        statistics.median(node_calls),
        "calls",
        TARGET,
        samples=len(rest),
        baseline_label="original Node.js glue",
        details={"ours": per_call, "ours_first_event": dict(sorted(first.items()))},
    )
    return [warm, figure_calls]


def _ask(stdin: IO[str], stdout: IO[str], event: dict[str, Any]) -> dict[str, Any]:
    stdin.write(json.dumps(event) + "\n")
    stdin.flush()
    answer: dict[str, Any] = json.loads(stdout.readline())
    return answer


def _cold(server: Server, fleet: Fleet, reps: int) -> Figure:
    walls: dict[str, list[float]] = {"ours": [], "original": [], "floor": []}
    floor_code = FLOOR_COLD.format(cluster=CLUSTER, service=SERVICE)

    def ours() -> float:
        event = _event(server, fleet)
        # Lambda names the init type in every init; the handler holds the collector while it starts (handler.py).
        return _fresh([sys.executable, "-I", "-c", OURS_COLD], server, event, walls["ours"], init="on-demand")

    def original() -> float:
        event = _event(server, fleet)
        return _fresh(["node", str(SEED / "cold.mjs")], server, event, walls["original"], node=True)

    def floor() -> float:
        event = _event(server, fleet)
        return _fresh([sys.executable, "-I", "-c", floor_code], server, event, walls["floor"])

    samples = interleave(ours, original, reps)
    floor_samples = interleave(floor, original, reps)
    floor_ratio = floor_samples.subject_median / floor_samples.baseline_median
    return samples.figure(
        "seed_cold",
        "Cold start, one event: ours ÷ the original Node.js glue",
        floor_ratio * COLD_MARGIN,
        baseline_label="original: node, SDK import, client, 1 call",
        notes=(
            f"target: Python's floor ({floor_ratio:.2f}x the original: a fresh Python process importing boto3, "
            f"one ECS client, the one UpdateService) x {COLD_MARGIN}"
        ),
        details={
            "floor_ms": round(floor_samples.subject_median * 1000, 1),
            "floor_ms_iqr": _iqr(floor_samples.subject),
            "original_ms_iqr": _iqr(samples.baseline),
            "floor_ratio": round(floor_ratio, 3),
            "whole_process_ms": {k: round(_median(v) * 1000, 1) for k, v in walls.items()},
        },
    )


def _fresh(
    command: list[str],
    server: Server,
    event: dict[str, Any],
    walls: list[float],
    *,
    node: bool = False,
    init: str | None = None,
) -> float:
    """Run one fresh function process on `event`; return the seconds it reports (its own first statement on)."""
    env = _environment(server.endpoint, BENCH_EVENT=json.dumps(event))
    if init is not None:
        env["AWS_LAMBDA_INITIALIZATION_TYPE"] = init
    start = time.perf_counter()
    done = subprocess.run(command, cwd=SEED if node else None, env=env, capture_output=True, text=True, check=False)
    walls.append(time.perf_counter() - start)
    if done.returncode != 0:
        raise RuntimeError(f"cold sample {command[0]} failed:\n{done.stderr[-2000:]}")
    last = done.stdout.strip().splitlines()[-1]
    if node:
        answer = json.loads(last)
        assert answer["result"]["deployed"], answer
        return float(answer["ms"]) / 1000
    return float(last)


def _iqr(values: tuple[float, ...]) -> list[float]:
    ordered = sorted(values)
    n = len(ordered)
    return [round(ordered[n // 4] * 1000, 1), round(ordered[(3 * n) // 4] * 1000, 1)]


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
