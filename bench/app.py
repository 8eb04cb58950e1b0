"""The function as the Lambda wires it (rules from AUTODEPLOY_CONFIG, optional ledger table), on the emulator."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from typing import Any

import boto3

from bench.fleet import REGION
from bench.instrument import InstrumentedClients, Meter
from ecr_autodeploy.core.ledger_items import FUNCTION_TIMEOUT_SECONDS, lock_lease
from ecr_autodeploy.wiring import LEDGER_ENV, EngineSettings, build_app, load_config

LEDGER_TABLE = "bench-ledger"
APART_S = 600.0  # how far apart two events for one service are made to look (see Clock)


class Clock:
    """The engine's clock: real time plus an offset that `apart()` moves on.

    The engine reads a service again when the deployment its lock found started within a few seconds of its read
    (another invocation's may not show yet). Events for one service arrive minutes apart in production, within
    milliseconds here; moving the clock on between them measures the usual case.
    """

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def apart(self, seconds: float = APART_S) -> None:
        """Make the next event look `seconds` later than the last."""
        self.offset += seconds


def function_environment(**variables: str) -> dict[str, str]:
    """Return the environment of a fresh function process: this one's without AWS, rules, seed or Python settings,
    fake credentials and no shared AWS config (nothing but the emulator can be reached), and `variables`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AUTODEPLOY_", "ECR_", "PYTHON"))}
    env.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        **variables,
    )
    return env


def create_ledger(endpoint: str, region: str = REGION) -> str:
    """Create the ledger table the way install does (partition key pk, TTL on expires_at); return its name."""
    dynamodb: Any = boto3.session.Session(region_name=region).client("dynamodb", endpoint_url=endpoint)
    dynamodb.create_table(
        TableName=LEDGER_TABLE,
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.update_time_to_live(
        TableName=LEDGER_TABLE, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"}
    )
    return LEDGER_TABLE


def lambda_app(
    endpoint: str,
    meter: Meter,
    rules: Mapping[str, Any],
    *,
    ledger: str | None = None,
    region: str = REGION,
    clock: Clock | None = None,
) -> Any:
    """Return the wired dispatcher (what ``handler.warm()`` returns) talking to the emulator through `meter`."""
    env = {"AUTODEPLOY_CONFIG": json.dumps(rules)}
    if ledger:
        env[LEDGER_ENV] = ledger
    return wired_app(endpoint, meter, env, region=region, clock=clock)


def wired_app(
    endpoint: str, meter: Meter, env: Mapping[str, str], *, region: str = REGION, clock: Clock | None = None
) -> Any:
    """Return the dispatcher wired from `env` as the handler wires it from the process environment."""
    clients = InstrumentedClients(meter, region=region, endpoint_url=endpoint)
    settings = None
    if clock is not None:
        settings = EngineSettings(clock=clock, lock_lease=lock_lease(FUNCTION_TIMEOUT_SECONDS))
    return build_app(load_config(env=env), clients, env=env, settings=settings)


def judge(endpoint: str, deployment_id: str, state: str = "COMPLETED", region: str = REGION) -> None:
    """Record a deployment as ECS finished it, as the function does on ECS's state-change event (setup only)."""
    from ecr_autodeploy.aws.clients import Clients
    from ecr_autodeploy.aws.ledger import Ledger

    ledger = Ledger(Clients(region=region, endpoint_url=endpoint), LEDGER_TABLE)
    ledger.finish(deployment_id, state, f"ECS deployment {deployment_id} {state.lower()}.", time.time())
