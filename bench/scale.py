"""Scale: one image mapped to 100, 1,000 and 5,000 services in one fan-out, through the function as wired.

For each size, two fleets: every service on a task definition of its own (as in production: each service has
its own family), and every service on one shared revision. One event deploys a new image to all of them, with
the ledger, in one invocation (whatever ``build_app`` gives: a split across invocations shows up as fewer calls
here, and as its batches' outcomes). It is the services' first deploy by the function, so no deployment of its
own is open there (bench/round_trips.py counts the SUPERSEDED write, one more call a service, when one is).
Then a fresh function surveys the distinct fleet (``status``) after more images were pushed (one per five
services), against the bare boto3 reads a script would make for the same view (bench/bare.survey).

Figures: calls per service ÷ the calls of the same deploy to one service (measured in the same run); the
function's CPU per service at each size ÷ at the smallest (flat when no step grows faster than the services); the
survey's calls ÷ the bare reads, and its CPU per (service + image) ÷ the smallest size's. The function's CPU is
this process's (the function runs in it); the emulator's, in its own process, is in the details, with the wall
time.

The function timeout is set to 900 s (``install --function-timeout 900``; Lambda's maximum), so that the service
locks' lease outlives the emulator's slowest fan-out. ``BENCH_SCALE_SIZES=100,1000 python -m bench scale`` runs
other sizes.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench import bare
from bench.app import create_ledger, wired_app
from bench.fleet import REGION, Fleet, new_image_event, rules
from bench.instrument import Meter, bare_client
from bench.measure import Figure, process_cpu
from bench.server import Server, moto_server
from ecr_autodeploy.core.ledger_items import FUNCTION_TIMEOUT_ENV
from ecr_autodeploy.wiring import LEDGER_ENV

SIZES = (100, 1000, 5000)
FUNCTION_TIMEOUT = "900"
IMAGES_PER_SERVICE = 0.2  # images in the repository when the survey runs, per service
CPU_GROWTH = 1.25  # per-service CPU at a size over the smallest size's: flat, within the machine's noise


def sizes() -> tuple[int, ...]:
    """Return the sizes to run (BENCH_SCALE_SIZES, comma-separated, else SIZES)."""
    text = os.environ.get("BENCH_SCALE_SIZES", "")
    return tuple(sorted(int(v) for v in text.split(",") if v.strip())) or SIZES


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the fan-out and survey figures at every size."""
    del reps, profile_dir  # one event per size; the details hold every call
    runs: dict[str, dict[int, dict[str, Any]]] = {"distinct": {}, "shared": {}, "survey": {}}
    with moto_server() as server:
        fleet = Fleet(server.endpoint)
        table = create_ledger(server.endpoint)
        one = _one_service(server, fleet, table)
        for n in sizes():
            for case in ("distinct", "shared"):
                runs[case][n] = _fan_out(server, fleet, table, n, case)
            runs["survey"][n] = _survey(server, fleet, table, n)
    return _figures(runs, one)


def _names(n: int) -> list[str]:
    return [f"svc{i:05d}" for i in range(n)]


def _app(server: Server, meter: Meter, repository: str, cluster: str, names: list[str], table: str) -> Any:
    env = {
        "AUTODEPLOY_CONFIG": json.dumps(rules(repository, cluster, names)),
        LEDGER_ENV: table,
        FUNCTION_TIMEOUT_ENV: FUNCTION_TIMEOUT,
    }
    return wired_app(server.endpoint, meter, env)


def _one_service(server: Server, fleet: Fleet, table: str) -> dict[str, Any]:
    """Return the calls of the same deploy to one service (its first by the function, as in the fan-outs)."""
    fleet.build("scale-one", "scale/one", ["svc"])
    meter = Meter()
    app = _app(server, meter, "scale/one", "scale-one", ["svc"], table)
    server.settle()
    result = app.handle(new_image_event(fleet, "scale/one")).to_dict()
    assert [o["status"] for o in result["outcomes"]] == ["deployed"], result
    calls = meter.reset()
    return {"calls": sum(calls.values()), "by_operation": dict(sorted(calls.items()))}


def _fan_out(server: Server, fleet: Fleet, table: str, n: int, case: str) -> dict[str, Any]:
    """Deploy one new image to `n` services (setup untimed); return its calls, CPU and time."""
    cluster, repository, names = f"scale-{case}-{n}", f"scale/{case}-{n}", _names(n)
    started = time.perf_counter()
    fleet.build(cluster, repository, names, shared=case == "shared")
    setup = time.perf_counter() - started
    meter = Meter()
    app = _app(server, meter, repository, cluster, names, table)
    event = new_image_event(fleet, repository)
    server.settle()
    cpu, emulator, wall = time.process_time(), process_cpu(server.pid), time.perf_counter()
    result = app.handle(event).to_dict()
    wall, cpu, emulator = time.perf_counter() - wall, time.process_time() - cpu, process_cpu(server.pid) - emulator
    statuses = Counter(str(o["status"]) for o in result["outcomes"])
    calls = meter.reset()
    print(
        f"  {case} {n}: {sum(calls.values())} calls, {cpu:.1f} s CPU (emulator {emulator:.1f} s), {wall:.1f} s, "
        f"{dict(statuses)} (setup {setup:.0f} s)",
        file=sys.stderr,
        flush=True,
    )
    return {
        "services": n,
        "outcomes": dict(statuses),
        "calls": sum(calls.values()),
        "calls_per_service": round(sum(calls.values()) / n, 3),
        "by_operation": dict(sorted(calls.items())),
        "cpu_s": round(cpu, 3),
        "cpu_ms_per_service": round(cpu * 1000 / n, 3),
        "emulator_cpu_s": round(emulator, 3),
        "wall_s": round(wall, 2),
    }


def _survey(server: Server, fleet: Fleet, table: str, n: int) -> dict[str, Any]:
    """Survey the distinct fleet of size `n` after more images (setup), as a fresh function; and the bare reads."""
    cluster, repository, names = f"scale-distinct-{n}", f"scale/distinct-{n}", _names(n)
    for _ in range(int(n * IMAGES_PER_SERVICE)):
        fleet.push(repository, fleet.new_tag())
    images = len(fleet.ecr.describe_images(repositoryName=repository, maxResults=1000).get("imageDetails", []))
    meter, bare_meter = Meter(), Meter()
    app = _app(server, meter, repository, cluster, names, table)
    cpu = time.process_time()
    surveyed = app.reconciler.survey.run(REGION)
    cpu = time.process_time() - cpu
    assert len(surveyed.rows) == n, len(surveyed.rows)
    ecs, ecr = bare_client("ecs", server.endpoint, bare_meter), bare_client("ecr", server.endpoint, bare_meter)
    bare_cpu = time.process_time()
    assert len(bare.survey(ecs, ecr, {cluster: names}, [repository]).revisions) == n
    bare_cpu = time.process_time() - bare_cpu
    calls, bare_calls = meter.reset(), bare_meter.reset()
    return {
        "services": n,
        "images": images,
        "calls": sum(calls.values()),
        "bare_calls": sum(bare_calls.values()),
        "by_operation": dict(sorted(calls.items())),
        "bare_by_operation": dict(sorted(bare_calls.items())),
        "cpu_s": round(cpu, 3),
        "bare_cpu_s": round(bare_cpu, 3),
        "cpu_ms_per_item": round(cpu * 1000 / (n + images), 4),
    }


def _figures(runs: dict[str, dict[int, dict[str, Any]]], one: dict[str, Any]) -> list[Figure]:
    figures = []
    smallest = min(runs["distinct"])
    for case in ("distinct", "shared"):
        revisions = "own task definitions" if case == "distinct" else "one shared revision"
        base_cpu = runs[case][smallest]["cpu_ms_per_service"]
        for n, r in runs[case].items():
            figures.append(
                Figure(
                    f"scale_calls_{case}_{n}",
                    f"Fan-out to {n:,} services ({revisions}): calls per service",
                    r["calls_per_service"],
                    float(one["calls"]),
                    "calls",
                    1.0,
                    baseline_label="one-service deploy",
                    details={**r, "one_service": one},
                )
            )
            if n != smallest:
                figures.append(
                    Figure(
                        f"scale_cpu_{case}_{n}",
                        f"Fan-out to {n:,} services ({revisions}): CPU per service",
                        r["cpu_ms_per_service"],
                        base_cpu,
                        "ms",
                        CPU_GROWTH,
                        baseline_label=f"CPU per service at {smallest:,}",
                        details=r,
                    )
                )
    base_item = runs["survey"][smallest]["cpu_ms_per_item"]
    for n, r in runs["survey"].items():
        figures.append(
            Figure(
                f"scale_status_calls_{n}",
                f"`status` of {n:,} services, {r['images']:,} images: calls",
                float(r["calls"]),
                float(r["bare_calls"]),
                "calls",
                1.05,
                baseline_label="bare boto3 reads of the same",
                details=r,
            )
        )
        if n != smallest:
            figures.append(
                Figure(
                    f"scale_status_cpu_{n}",
                    f"`status` of {n:,} services, {r['images']:,} images: CPU per service and image",
                    r["cpu_ms_per_item"],
                    base_item,
                    "ms",
                    CPU_GROWTH,
                    baseline_label=f"the same at {smallest:,}",
                    details=r,
                )
            )
    return figures
