"""Round trips in sequence and calls of one pinned deploy with the ledger, with a modelled delay on every call.

Every request waits `ROUND_TRIP` seconds in a botocore ``before-send`` hook (a sleep, which like a socket wait lets
other threads run), and every call's span is kept. Calls made concurrently overlap, so the longest chain of calls
each starting after the one before it ended is the number of round trips the event waits for (bench/timeline.py).
The baseline is the bare boto3 pin (bench/bare.py), measured the same way: 5 calls, 5 round trips.

Two cases, alternately: the service's previous deployment is still open (in AWS it may still be rolling out:
the deploy also marks it SUPERSEDED, one more write, made concurrently with the record), and the previous
deployment was judged (ECS reported it COMPLETED and the function recorded that: no SUPERSEDED write). Events are
made to look minutes apart (bench/app.Clock); back to back, the engine reads the service once more, which the
details show as well.
"""

from __future__ import annotations

import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from bench import bare
from bench.app import Clock, create_ledger, judge, lambda_app
from bench.fleet import Fleet, new_image_event, rules
from bench.instrument import Meter, Span, bare_client
from bench.measure import Figure
from bench.server import moto_server
from bench.timeline import render, sequential, waves

ROUND_TRIP = 0.025  # seconds: a typical in-region AWS API round trip
MAX_ROUND_TRIPS = 7
MAX_CALLS = 10
CLUSTER, SERVICE, REPOSITORY = "rt", "api", "bench/rt"
CASES = ("previous open", "previous judged", "back to back")


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the round-trip and call figures of a pinned deploy with the ledger, both cases."""
    del profile_dir  # the timeline is the explanation
    reps = max(1, min(reps, 7))
    with moto_server() as server:
        endpoint = server.endpoint
        fleet = Fleet(endpoint)
        fleet.build(CLUSTER, REPOSITORY, [SERVICE])
        fleet.build("rt-bare", REPOSITORY, [SERVICE])
        table = create_ledger(endpoint)
        meter, bare_meter, clock = Meter(latency=ROUND_TRIP), Meter(latency=ROUND_TRIP), Clock()
        app = lambda_app(endpoint, meter, rules(REPOSITORY, CLUSTER, [SERVICE]), ledger=table, clock=clock)
        ecs, ecr = bare_client("ecs", endpoint, bare_meter), bare_client("ecr", endpoint, bare_meter)
        last = _deploy(app, fleet, meter)[1]  # the first pin of the service, and warm clients
        runs: dict[str, list[list[Span]]] = {case: [] for case in CASES}
        baseline: list[list[Span]] = []
        for _ in range(reps):
            for case in CASES:
                if case == "previous judged":
                    judge(endpoint, last)
                if case != "back to back":
                    clock.apart()
                spans, last = _deploy(app, fleet, meter)
                runs[case].append(spans)
            arrived = new_image_event(fleet, REPOSITORY)
            bare_meter.reset()
            bare.pin(ecs, ecr, "rt-bare", SERVICE, REPOSITORY, arrived["detail"]["image-digest"], arrived["id"])
            baseline.append(bare_meter.take_spans())
    details = {case: _summary(spans) for case, spans in runs.items()}
    details["bare boto3 pin"] = _summary(baseline)
    for case in ("previous open", "previous judged"):
        print(f"\n{case}: one pinned deploy, {int(ROUND_TRIP * 1000)} ms a round trip", file=sys.stderr)
        print("\n".join(details[case]["timeline"]), file=sys.stderr)
    base = details["bare boto3 pin"]
    figures = []
    for case in ("previous open", "previous judged"):
        d = details[case]
        for measure, title, unit, most in (
            ("round_trips", "Sequential round trips", "round trips", MAX_ROUND_TRIPS),
            ("calls", "AWS calls", "calls", MAX_CALLS),
        ):
            figures.append(
                Figure(
                    f"{measure}_{case.split()[1]}",
                    f"{title}, pinned deploy with the ledger ({case})",
                    d[measure],
                    base[measure],
                    unit,
                    most / base[measure],
                    samples=reps,
                    baseline_label="bare boto3 pin",
                    notes=f"target: at most {most} {unit}",
                    details=details if measure == "round_trips" else {"by_operation": d["by_operation"]},
                )
            )
    return figures


def _deploy(app: Any, fleet: Fleet, meter: Meter) -> tuple[list[Span], str]:
    """Deploy a new image to the service; return the calls' spans and the new deployment's id."""
    event = new_image_event(fleet, REPOSITORY)
    meter.reset()
    result = app.handle(event).to_dict()
    spans = meter.take_spans()
    [outcome] = result["outcomes"]
    assert outcome["status"] == "deployed", result
    return spans, str(outcome["deployment_id"])


def _summary(runs: list[list[Span]]) -> dict[str, Any]:
    """Return the median round trips, calls and wall time of some runs, and the timeline of the median one."""
    trips = [sequential(spans) for spans in runs]
    middle = sorted(range(len(runs)), key=lambda i: (trips[i], len(runs[i])))[len(runs) // 2]
    spans = runs[middle]
    walls = [(s[-1].end - s[0].start) * 1000 for s in (sorted(r, key=lambda x: x.end) for r in runs)]
    return {
        "round_trips": statistics.median(trips),
        "round_trips_runs": trips,
        "calls": statistics.median(len(r) for r in runs),
        "wall_ms": round(statistics.median(walls), 1),
        "by_operation": dict(sorted(Counter(s.operation for s in spans).items())),
        "waves": waves(spans),
        "timeline": render(spans),
    }
