"""Fan-out: one image mapped to 20 services ÷ the same image mapped to one service, through the wired function.

The emulator answers a call in about a millisecond of CPU, AWS in tens of milliseconds of waiting, so the figure
is measured on the bare emulator (CPU-bound: the client's work for 20 services on the machine's cores), and with
a modelled round trip added to every request (a sleep in a ``before-send`` hook, which like a socket wait lets
other threads run), which is what the engine's batching and concurrency are for. Both with the ledger, as
install configures the function; the modelled round trip once more without it, to tell the two costs apart.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from bench.app import create_ledger, lambda_app
from bench.fleet import Fleet, new_image_event, rules
from bench.instrument import Meter
from bench.measure import Figure, interleave, profile_text, timed
from bench.server import moto_server

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
        return [
            _measure(fleet, names, ledger, latency, reps, profile_dir)
            for ledger, latency in ((table, 0.0), (table, ROUND_TRIP), (None, ROUND_TRIP))
        ]


def _measure(
    fleet: Fleet, names: list[str], table: str | None, latency: float, reps: int, profile_dir: Path | None
) -> Figure:
    wide_meter, narrow_meter = Meter(latency=latency), Meter(latency=latency)
    wide = lambda_app(fleet.endpoint, wide_meter, rules(WIDE, "fan", names), ledger=table)
    narrow = lambda_app(fleet.endpoint, narrow_meter, rules(NARROW, "one", ["svc"]), ledger=table)

    def deploy(app: Any, repository: str, expected: int) -> float:
        event = new_image_event(fleet, repository)
        result: dict[str, Any] = {}
        seconds = timed(lambda: result.update(app.handle(event).to_dict()))
        statuses = [o["status"] for o in result["outcomes"]]
        assert statuses == ["deployed"] * expected, result
        return seconds

    samples = interleave(lambda: deploy(wide, WIDE, len(names)), lambda: deploy(narrow, NARROW, 1), reps)
    runs = reps + 1  # the warm-up round ran each once
    per_event = {
        side: {k: round(v / runs, 2) for k, v in sorted(meter.reset().items())}
        for side, meter in (("20 services", wide_meter), ("1 service", narrow_meter))
    }
    name = "fan_out" + (f"_rtt{int(latency * 1000)}ms" if latency else "") + ("" if table else "_no_ledger")
    where = f"{int(latency * 1000)} ms modelled round trip per call" if latency else "bare emulator"
    where += "" if table else ", no ledger"
    figure = samples.figure(
        name,
        f"Fan-out {len(names)} services ÷ 1 ({where})",
        TARGET,
        baseline_label="same image to 1 service",
        details={"calls_per_event": per_event, "round_trip_s": latency},
    )
    if not figure.met and profile_dir is not None:
        path = profile_dir / f"{name}.profile.txt"
        events = [new_image_event(fleet, WIDE) for _ in range(3)]
        path.write_text(
            profile_text(
                [functools.partial(wide.handle, e) for e in events], f"{name}: 3 events to {len(names)} services"
            ),
            encoding="utf-8",
        )
        figure.details["profile"] = path.name
    return figure
