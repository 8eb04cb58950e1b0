"""AWS calls per deploy, counted with a botocore ``before-send`` hook on every client the function makes.

* one service, pinned: the engine's ECS and ECR calls ÷ the bare boto3 pin (5 calls); every call with the
  ledger is bench/round_trips.py's figure;
* ten services that share one task definition and one repository: DescribeTaskDefinition, DescribeImages and
  RegisterTaskDefinition calls ÷ the distinct task definitions, images and (revision, digest) pairs involved
  (1 each): shared things are read once, and one pinned copy serves every service of the revision.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench import bare
from bench.app import Clock, create_ledger, lambda_app
from bench.fleet import Fleet, new_image_event, rules
from bench.instrument import Meter, bare_client
from bench.measure import Figure
from bench.server import moto_server

SHARED_SERVICES = 10
EVENTS = 5


def run(reps: int, profile_dir: Path | None = None) -> list[Figure]:
    """Return the call-count figures (counts do not vary, so `reps` only sets how many events are averaged)."""
    del profile_dir  # counts need no profile: the details list every call
    events = max(1, min(reps, EVENTS))
    with moto_server() as server:
        endpoint = server.endpoint
        fleet = Fleet(endpoint)
        fleet.build("one", "bench/one", ["api"])
        fleet.build("shared", "bench/shared", [f"svc{i}" for i in range(SHARED_SERVICES)], shared=True)
        table = create_ledger(endpoint)
        engine, shared, bare_calls, clock = Meter(), Meter(), Meter(), Clock()
        app = lambda_app(endpoint, engine, rules("bench/one", "one", ["api"]), ledger=table, clock=clock)
        wide = lambda_app(
            endpoint, shared, rules("bench/shared", "shared", [f"svc{i}" for i in range(SHARED_SERVICES)]), ledger=table
        )
        ecs, ecr = bare_client("ecs", endpoint, bare_calls), bare_client("ecr", endpoint, bare_calls)
        for _ in range(events):
            server.settle()
            clock.apart()
            result = app.handle(new_image_event(fleet, "bench/one")).to_dict()
            assert [o["status"] for o in result["outcomes"]] == ["deployed"], result
            arrived = new_image_event(fleet, "bench/one")
            bare.pin(ecs, ecr, "one", "api", "bench/one", arrived["detail"]["image-digest"], arrived["id"])
        result = wide.handle(new_image_event(fleet, "bench/shared")).to_dict()
        assert [o["status"] for o in result["outcomes"]] == ["deployed"] * SHARED_SERVICES, result
    per_event = Counter({k: v / events for k, v in engine.calls.items()})
    bare_per_event = Counter({k: v / events for k, v in bare_calls.calls.items()})
    aws = sum(v for k, v in per_event.items() if k.startswith(("ecs.", "ecr.")))
    minimum = sum(bare_per_event.values())
    details = {"engine": dict(sorted(per_event.items())), "bare": dict(sorted(bare_per_event.items()))}
    wide_calls = {"engine": dict(sorted(shared.calls.items()))}
    return [
        Figure(
            "calls_pin",
            "ECS+ECR calls per pinned deploy of one service",
            aws,
            minimum,
            "calls",
            1.0,
            samples=events,
            baseline_label="bare boto3 pin",
            details=details,
        ),
        *(
            Figure(
                f"shared_{name}",
                title,
                float(shared.calls[operation]),
                1.0,
                "calls",
                1.0,
                baseline_label=label,
                details=wide_calls,
            )
            for name, title, operation, label in (
                (
                    "task_definition_reads",
                    f"DescribeTaskDefinition, {SHARED_SERVICES} services sharing one",
                    "ecs.DescribeTaskDefinition",
                    "distinct task definitions",
                ),
                (
                    "image_reads",
                    f"DescribeImages, one image going to {SHARED_SERVICES} services",
                    "ecr.DescribeImages",
                    "distinct images",
                ),
                (
                    "registrations",
                    f"RegisterTaskDefinition, {SHARED_SERVICES} services sharing one revision",
                    "ecs.RegisterTaskDefinition",
                    "distinct (revision, digest)",
                ),
            )
        ),
    ]
