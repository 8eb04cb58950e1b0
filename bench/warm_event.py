"""Warm per-event cost: one REPLICATE event end to end through the wired function ÷ the bare boto3 calls it needs.

Both sides deploy a freshly pushed image to the same service on the same emulator, alternately; the push is
setup, not timed, and so is completing the deployments of the sample before (bench/server.py), so that every
sample deploys to a service with one deployment. Measured twice: without the ledger (the engine's own overhead)
and with it, as install configures the function (the ledger's DynamoDB writes are extra AWS calls the bare
sequence does not make); events are made to look minutes apart (bench/app.Clock).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from bench import bare
from bench.app import Clock, create_ledger, lambda_app
from bench.fleet import Fleet, new_image_event, rules
from bench.instrument import Meter, bare_client
from bench.measure import Figure, interleave, profile_text, timed
from bench.server import Server, moto_server

TARGET = 1.10
CLUSTER, SERVICE, REPOSITORY = "warm", "api", "bench/api"


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the warm per-event figures, without and with the ledger."""
    figures = []
    for ledger in (False, True):
        with moto_server() as server:
            figures.append(_measure(server, reps, ledger, profile_dir))
    return figures


def _measure(server: Server, reps: int, ledger: bool, profile_dir: Path | None) -> Figure:
    endpoint = server.endpoint
    fleet = Fleet(endpoint)
    fleet.build(CLUSTER, REPOSITORY, [SERVICE])
    engine_meter, bare_meter = Meter(), Meter()
    table = create_ledger(endpoint) if ledger else None
    clock = Clock()
    app = lambda_app(endpoint, engine_meter, rules(REPOSITORY, CLUSTER, [SERVICE]), ledger=table, clock=clock)
    ecs, ecr = bare_client("ecs", endpoint, bare_meter), bare_client("ecr", endpoint, bare_meter)

    def event() -> dict[str, Any]:
        server.settle()
        clock.apart()
        return new_image_event(fleet, REPOSITORY)

    def subject() -> float:
        arrived = event()
        result: dict[str, Any] = {}
        seconds = timed(lambda: result.update(app.handle(arrived).to_dict()))
        statuses = [o["status"] for o in result["outcomes"]]
        assert statuses == ["deployed"], result
        return seconds

    def baseline() -> float:
        arrived = event()
        detail = arrived["detail"]
        return timed(lambda: bare.pin(ecs, ecr, CLUSTER, SERVICE, REPOSITORY, detail["image-digest"], arrived["id"]))

    samples = interleave(subject, baseline, reps)
    engine_calls = engine_meter.reset()
    bare_calls = bare_meter.reset()
    runs = reps + 1  # the warm-up round ran each once
    name = "warm_event_ledger" if ledger else "warm_event"
    figure = samples.figure(
        name,
        "Warm event, with the ledger (as installed)" if ledger else "Warm event (engine, no ledger)",
        TARGET,
        baseline_label="bare boto3 pin (5 calls)",
        details={
            "engine_calls_per_event": {k: v / runs for k, v in sorted(engine_calls.items())},
            "bare_calls_per_event": {k: v / runs for k, v in sorted(bare_calls.items())},
        },
    )
    if not figure.met and profile_dir is not None:
        path = profile_dir / f"{name}.profile.txt"
        arrivals = [event() for _ in range(20)]
        path.write_text(
            profile_text([functools.partial(app.handle, e) for e in arrivals], f"{name}: 20 events"), encoding="utf-8"
        )
        figure.details["profile"] = path.name
    return figure
