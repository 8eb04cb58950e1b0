"""Fan-out: one image mapped to 20 services ÷ the same image mapped to one service, through the wired function.

The emulator answers a call in about a millisecond of CPU, AWS in tens of milliseconds of waiting, so the figure
is measured on the bare emulator (CPU-bound: the client's work for 20 services on the machine's cores), and with
a modelled round trip added to every request (a sleep in a ``before-send`` hook, which like a socket wait lets
other threads run), which is what the engine's batching and concurrency are for. Both with the ledger, as
install configures the function; the modelled round trip once more without it, to tell the two costs apart.
Between samples the emulator completes the deployments (untimed) and events are made to look minutes apart.

The emulator answers one request at a time, AWS in parallel: the wall times measure the emulator's CPU more than
the function's. So the details give, per event, the function's CPU, the emulator's, and the sequential round
trips (bench/timeline.py), which with the modelled round trip is the figure that carries over to AWS.
"""

from __future__ import annotations

import functools
import statistics
import time
from pathlib import Path
from typing import Any

from bench.app import Clock, create_ledger, lambda_app
from bench.fleet import Fleet, new_image_event, rules
from bench.instrument import Meter
from bench.measure import Figure, interleave, process_cpu, profile_text, timed
from bench.server import Server, moto_server
from bench.timeline import sequential

TARGET = 2.0
SERVICES = 20
ROUND_TRIP = 0.025  # seconds: a typical in-region AWS API round trip
WIDE, NARROW = "bench/fan20", "bench/fan1"


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the fan-out figures: bare emulator and modelled round trip with the ledger, and without it."""
    with moto_server() as server:
        endpoint = server.endpoint
        fleet = Fleet(endpoint)
        names = [f"svc{i:02d}" for i in range(SERVICES)]
        fleet.build("fan", WIDE, names)
        fleet.build("one", NARROW, ["svc"])
        table = create_ledger(endpoint)
        figures: list[Figure] = []
        for ledger, latency in ((table, 0.0), (table, ROUND_TRIP), (None, ROUND_TRIP)):
            figures.extend(_measure(server, fleet, names, ledger, latency, reps, profile_dir))
        return figures


def _measure(
    server: Server,
    fleet: Fleet,
    names: list[str],
    table: str | None,
    latency: float,
    reps: int,
    profile_dir: Path | None,
) -> list[Figure]:
    wide_meter, narrow_meter, clock = Meter(latency=latency), Meter(latency=latency), Clock()
    wide = lambda_app(fleet.endpoint, wide_meter, rules(WIDE, "fan", names), ledger=table, clock=clock)
    narrow = lambda_app(fleet.endpoint, narrow_meter, rules(NARROW, "one", ["svc"]), ledger=table, clock=clock)
    seen: dict[str, list[dict[str, float]]] = {"20 services": [], "1 service": []}

    def deploy(app: Any, meter: Meter, repository: str, expected: int, side: str) -> float:
        server.settle()
        clock.apart()
        event = new_image_event(fleet, repository)
        result: dict[str, Any] = {}
        meter.reset()
        cpu, emulator = time.process_time(), process_cpu(server.pid)
        seconds = timed(lambda: result.update(app.handle(event).to_dict()))
        cpu, emulator = time.process_time() - cpu, process_cpu(server.pid) - emulator
        spans = meter.take_spans()
        statuses = [o["status"] for o in result["outcomes"]]
        assert statuses == ["deployed"] * expected, result
        seen[side].append(
            {
                "calls": len(spans),
                "round_trips": sequential(spans),
                "cpu_ms": cpu * 1000,
                "emulator_ms": emulator * 1000,
            }
        )
        return seconds

    samples = interleave(
        lambda: deploy(wide, wide_meter, WIDE, len(names), "20 services"),
        lambda: deploy(narrow, narrow_meter, NARROW, 1, "1 service"),
        reps,
    )
    per_event = {
        side: {key: round(statistics.median(e[key] for e in events), 1) for key in events[0]}
        for side, events in seen.items()
    }
    name = "fan_out" + (f"_rtt{int(latency * 1000)}ms" if latency else "") + ("" if table else "_no_ledger")
    where = f"{int(latency * 1000)} ms modelled round trip per call" if latency else "bare emulator"
    where += "" if table else ", no ledger"
    figures = [
        samples.figure(
            name,
            f"Fan-out {len(names)} services ÷ 1 ({where})",
            TARGET,
            baseline_label="same image to 1 service",
            details={"per_event": per_event, "round_trip_s": latency},
        )
    ]
    if latency and table:
        figures.append(
            Figure(
                f"{name}_round_trips",
                f"Fan-out {len(names)} services ÷ 1: sequential round trips ({where})",
                per_event["20 services"]["round_trips"],
                per_event["1 service"]["round_trips"],
                "round trips",
                1.0,
                samples=reps,
                baseline_label="same image to 1 service",
                details={"per_event": per_event},
            )
        )
    if not figures[0].met and profile_dir is not None:
        path = profile_dir / f"{name}.profile.txt"
        events = [new_image_event(fleet, WIDE) for _ in range(3)]
        path.write_text(
            profile_text(
                [functools.partial(wide.handle, e) for e in events], f"{name}: 3 events to {len(names)} services"
            ),
            encoding="utf-8",
        )
        figures[0].details["profile"] = path.name
    return figures
