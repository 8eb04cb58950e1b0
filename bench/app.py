"""The function as the Lambda wires it (rules from AUTODEPLOY_CONFIG, optional ledger table), on the emulator."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import boto3

from bench.fleet import REGION
from bench.instrument import InstrumentedClients, Meter
from ecr_autodeploy.wiring import LEDGER_ENV, build_app, load_config

LEDGER_TABLE = "bench-ledger"


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
    endpoint: str, meter: Meter, rules: Mapping[str, Any], *, ledger: str | None = None, region: str = REGION
) -> Any:
    """Return the wired dispatcher (what ``handler.warm()`` returns) talking to the emulator through `meter`."""
    env = {"AUTODEPLOY_CONFIG": json.dumps(rules)}
    if ledger:
        env[LEDGER_ENV] = ledger
    clients = InstrumentedClients(meter, region=region, endpoint_url=endpoint)
    return build_app(load_config(env=env), clients, env=env)
