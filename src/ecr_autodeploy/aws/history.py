"""Reading the ledger's deployment records (``dep#`` items) for people: a service's history, the open rollouts.

The ledger is keyed for the function's writes (one partition key per item), so these operator reads Scan the
table with a filter: every ``dep#`` item of one service (its ``service_key`` attribute), or every one not judged
yet (state STARTED or IN_PROGRESS). A scan reads the whole table, items of 30 days at most (their TTL); that is
fine for a person's command, never for the function's hot path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.aws.dynamodb_items import Expr, from_item
from ecr_autodeploy.core.ledger_items import OPEN_STATES
from ecr_autodeploy.core.records import DeploymentRecord

DEPLOYMENT_PREFIX = "dep#"


def scan_deployments(
    clients: Clients, table: str, *, service_key: str | None = None, states: Sequence[str] = ()
) -> list[DeploymentRecord]:
    """Return the deployment records of one service (or all), in some states (or any), newest first."""
    e = Expr()
    conditions = [f"begins_with({e.name('pk')}, {e.value(DEPLOYMENT_PREFIX)})"]
    if service_key is not None:
        conditions.append(f"{e.name('service_key')} = {e.value(service_key)}")
    if states:
        conditions.append(f"{e.name('state')} IN ({', '.join(e.value(s) for s in states)})")
    params: dict[str, Any] = e.params(TableName=table, FilterExpression=" AND ".join(conditions))
    records: list[DeploymentRecord] = []
    client = clients.client("dynamodb")
    with aws_errors("reading deployment history", table):
        for page in client.get_paginator("scan").paginate(**params):
            records.extend(DeploymentRecord.from_item(from_item(item)) for item in page.get("Items", []))
    return sorted(records, key=lambda r: r.started_at, reverse=True)


def open_deployments(clients: Clients, table: str, service_key: str | None = None) -> list[DeploymentRecord]:
    """Return the deployments the function started whose rollout is not judged yet (newest first)."""
    return scan_deployments(clients, table, service_key=service_key, states=OPEN_STATES)
