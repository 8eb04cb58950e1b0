"""A fan-out of thousands of services, end to end on the emulator, split across invocations (core/fanout.py).

One image mapped to N services (each its own task definition), the ledger on. The invocation that receives the
event deploys the first batch and hands the others on; each handed batch then runs as its own invocation (a
fresh wiring of the same handler code, as a new Lambda container would), through ``local.fanout.LocalFanOut``,
which stands in for Lambda's asynchronous invocation (moto cannot run the function). Every AWS request of the
function goes to moto's server in a child process, with a modelled round trip (``--latency``, 25 ms by default).

    python -m bench.split                  # 5,000 services, batches of 100
    python -m bench.split --services 1000 --batch 100 --latency 0.025

Printed: invocations, calls per service by operation, the function's CPU and wall time per invocation (median
and worst: the budget a batch must fit in), a check that every service runs the new digest, and what the same
would cost on AWS at the prices named below (us-east-1, arm64 Lambda, DynamoDB on demand).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any

import boto3

from bench.__main__ import _isolate_aws_environment
from bench.fleet import Fleet, new_image_event, rules
from bench.instrument import InstrumentedClients, Meter
from bench.server import moto_server
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.installation import ledger_key_schema
from ecr_autodeploy.local.fanout import LocalFanOut
from ecr_autodeploy.wiring import EngineSettings, build_app

TABLE = "bench-ledger"
RESULTS = Path(__file__).parent / "results"
# Prices (us-east-1, published list prices): Lambda arm64 per GB-second and per request; DynamoDB on demand per
# million write / read request units. ECS and ECR API calls cost nothing.
LAMBDA_GB_SECOND = 0.0000133334
LAMBDA_REQUEST = 0.20 / 1_000_000
DYNAMODB_WRITE_UNIT = 0.625 / 1_000_000
DYNAMODB_READ_UNIT = 0.125 / 1_000_000
MEMORY_GB = 0.25  # the function's 256 MB
# Request units per call, for items under 1 KB: a transaction's items cost two units each (claim + lock: 2 items).
WRITE_UNITS = {"UpdateItem": 1, "PutItem": 1, "DeleteItem": 1, "TransactWriteItems": 4}
READ_UNITS = {"GetItem": 0.5, "BatchGetItem": 0.5}


def run(services: int, batch: int, latency: float) -> dict[str, Any]:
    """Deploy one image to `services` services in batches of `batch`; return the figures."""
    names = [f"s{i:05d}" for i in range(services)]
    with moto_server() as server:
        endpoint = server.endpoint
        fleet = Fleet(endpoint)
        fleet.build("fleet", "app/api", names)
        attributes, keys = ledger_key_schema()
        dynamodb: Any = boto3.client("dynamodb", region_name=fleet.region, endpoint_url=endpoint)
        dynamodb.create_table(
            TableName=TABLE, AttributeDefinitions=attributes, KeySchema=keys, BillingMode="PAY_PER_REQUEST"
        )
        config = parse_config(rules("app/api", "fleet", names), "bench rules")
        event = new_image_event(fleet, "app/api")
        meter = Meter(latency=latency)
        settings = EngineSettings(fanout_batch=batch)
        fanout = LocalFanOut()

        def invocation(raw: object) -> Any:
            clients = InstrumentedClients(meter, region=fleet.region, endpoint_url=endpoint)
            app = build_app(config, clients, env={"AUTODEPLOY_LEDGER_TABLE": TABLE}, fanout=fanout, settings=settings)
            return app.handle(raw)

        timings: list[tuple[float, float]] = []

        def timed(raw: object) -> Any:
            cpu, wall = time.process_time(), time.perf_counter()
            try:
                return invocation(raw)
            finally:
                timings.append((time.process_time() - cpu, time.perf_counter() - wall))

        parent = timed(event)
        handled = fanout.drain(timed)
        calls = meter.reset()
        running = _running_digests(fleet, names)
    statuses = Counter(o.status for o in parent.outcomes)
    for h in handled:
        statuses.update(o.status for o in h.result.outcomes) if h.result else statuses.update(["invocation failed"])
    statuses.pop("dispatched", None)
    digest = event["detail"]["image-digest"]
    return {
        "services": services,
        "batch": batch,
        "latency_s": latency,
        "invocations": len(timings),
        "final_statuses": dict(statuses),
        "running_new_digest": running.get(digest, 0),
        "calls": dict(sorted(calls.items())),
        "calls_per_service": round(sum(calls.values()) / services, 2),
        "cpu_s": {"median": statistics.median(c for c, _ in timings), "max": max(c for c, _ in timings)},
        "wall_s": {"median": statistics.median(w for _, w in timings), "max": max(w for _, w in timings)},
        "cost_usd": cost(calls, [w for _, w in timings]),
    }


def cost(calls: Counter[str], walls: list[float]) -> dict[str, float]:
    """Return what the invocations and ledger requests would cost on AWS, in US dollars."""
    lambda_cost = len(walls) * LAMBDA_REQUEST + sum(walls) * MEMORY_GB * LAMBDA_GB_SECOND
    writes = sum(n * WRITE_UNITS.get(op.split(".", 1)[1], 0) for op, n in calls.items() if op.startswith("dynamodb."))
    reads = sum(n * READ_UNITS.get(op.split(".", 1)[1], 0) for op, n in calls.items() if op.startswith("dynamodb."))
    ledger = writes * DYNAMODB_WRITE_UNIT + reads * DYNAMODB_READ_UNIT
    return {"lambda": round(lambda_cost, 6), "dynamodb": round(ledger, 6), "total": round(lambda_cost + ledger, 6)}


def _running_digests(fleet: Fleet, names: list[str]) -> Counter[str]:
    found: Counter[str] = Counter()
    for start in range(0, len(names), 10):
        for service in fleet.ecs.describe_services(cluster="fleet", services=names[start : start + 10])["services"]:
            arn = service["taskDefinition"]
            definition = fleet.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
            containers = definition["containerDefinitions"]
            app = next(c for c in containers if c["name"] == "app")
            found[app["image"].rsplit("@", 1)[-1]] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.split", description=__doc__.split("\n\n")[0])
    parser.add_argument("--services", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.025, help="modelled round trip per request, seconds")
    args = parser.parse_args()
    _isolate_aws_environment()
    figures = run(args.services, args.batch, args.latency)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"split-{args.services}.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
