"""What moto lacks for outcome tests: ECS rollouts that progress, a ledger table, atomic conditional writes.

moto keeps one deployment per service with one id, IN_PROGRESS forever, and ignores deploymentConfiguration.
RolloutCluster is the real ECS adapter on moto with a small deployment state machine on top: every UpdateService
starts a new PRIMARY deployment (the previous one becomes ACTIVE), and a test completes or fails it, with or
without ECS's circuit-breaker rollback, and gets the "ECS Deployment State Change" event ECS would emit.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto.dynamodb.models import DynamoDBBackend

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster, deployment_from
from ecr_autodeploy.core.errors import NotFoundError
from ecr_autodeploy.core.model import Deployment, Service, ServiceRef
from ecr_autodeploy.local.events import deployment_event

TABLE = "ecr-autodeploy-ledger"
BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."


class RolloutCluster(Cluster):
    """aws.ecs.Cluster on moto, with deployments that a test moves to COMPLETED or FAILED."""

    def __init__(self, clients: Clients, *, breaker: bool = False, breaker_rollback: bool = False) -> None:
        super().__init__(clients)
        self.breaker = breaker
        self.breaker_rollback = breaker_rollback
        self.updates: list[tuple[str, str | None]] = []  # (service, task definition or None for force)
        self._deployments: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._ids = itertools.count(1000)
        self._lock = threading.Lock()

    # ---- the adapter, with our deployments ------------------------------------------------------------------

    def services(self, refs: Sequence[ServiceRef]) -> dict[ServiceRef, Service | NotFoundError]:
        found = super().services(refs)
        with self._lock:
            for ref, svc in found.items():
                if isinstance(svc, Service):
                    deployments = self._list(ref.region, ref.cluster, ref.service, svc)
                    found[ref] = replace(
                        svc,
                        deployments=tuple(deployment_from(d) for d in deployments),
                        circuit_breaker=self.breaker,
                        circuit_breaker_rollback=self.breaker_rollback,
                    )
        return found

    def update(
        self,
        ref: ServiceRef,
        *,
        task_definition: str | None = None,
        force: bool = False,
        deployment: Mapping[str, Any] | None = None,
    ) -> Deployment | None:
        super().update(ref, task_definition=task_definition, force=force, deployment=deployment)
        svc = self._plain(ref)
        with self._lock:
            self.updates.append((ref.service, task_definition))
            return deployment_from(self._start(ref.region, ref.cluster, ref.service, svc, svc.task_definition_arn))

    def _plain(self, ref: ServiceRef) -> Service:
        """Return the service as moto describes it (one deployment, never progressing)."""
        svc = super().services([ref])[ref]
        assert isinstance(svc, Service)
        return svc

    # ---- what a test does -----------------------------------------------------------------------------------

    def primary(self, service: str, cluster: str = "shop", region: str = "us-east-1") -> dict[str, Any]:
        with self._lock:
            return dict(next(d for d in self._deployments[(region, cluster, service)] if d["status"] == "PRIMARY"))

    def complete(self, service: str, cluster: str = "shop", region: str = "us-east-1") -> dict[str, Any]:
        """Finish the PRIMARY deployment: COMPLETED, all tasks running, older deployments drained."""
        with self._lock:
            listed = self._deployments[(region, cluster, service)]
            primary = next(d for d in listed if d["status"] == "PRIMARY")
            primary.update(rolloutState="COMPLETED", runningCount=primary["desiredCount"], pendingCount=0)
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            listed[:] = [primary]
            return dict(primary)

    def fail(self, service: str, cluster: str = "shop", region: str = "us-east-1") -> dict[str, Any]:
        """Fail the PRIMARY deployment as the circuit breaker does; with its rollback, ECS starts the previous one."""
        with self._lock:
            listed = self._deployments[(region, cluster, service)]
            failed = next(d for d in listed if d["status"] == "PRIMARY")
            failed.update(rolloutState="FAILED", rolloutStateReason=BREAKER_REASON, runningCount=0, failedTasks=3)
            previous = next((d for d in listed if d is not failed), None)
        if self.breaker_rollback and previous is not None:
            ecs = self._clients.ecs(region)
            ecs.update_service(cluster=cluster, service=service, taskDefinition=previous["taskDefinition"])
            svc = self._plain(ServiceRef(region, cluster, service))
            with self._lock:
                failed["status"] = "ACTIVE"
                listed[:] = [d for d in listed if d is failed]
                self._start(region, cluster, service, svc, str(previous["taskDefinition"]))
        return dict(failed)

    def event(
        self, deployment: Mapping[str, Any], state: str, service: str = "api", cluster: str = "shop"
    ) -> dict[str, Any]:
        """Return the ECS Deployment State Change event of a deployment."""
        return deployment_event(
            str(deployment["id"]), state, service, cluster, str(deployment.get("rolloutStateReason", ""))
        )

    # ---- state ---------------------------------------------------------------------------------------------

    def _list(self, region: str, cluster: str, service: str, svc: Service) -> list[dict[str, Any]]:
        key = (region, cluster, service)
        if key not in self._deployments:
            # A service that existed before the test runs its first deployment, settled.
            self._deployments[key] = [
                _deployment(
                    "ecs-svc/initial-" + service,
                    svc.task_definition_arn,
                    self._desired(svc),
                    "COMPLETED",
                    since=timedelta(hours=1),
                )
            ]
        return self._deployments[key]

    @staticmethod
    def _desired(svc: Service) -> int:
        return svc.desired_count or 1

    def _start(self, region: str, cluster: str, service: str, svc: Service, task_definition: str) -> dict[str, Any]:
        listed = self._list(region, cluster, service, svc)
        for d in listed:
            if d["status"] == "PRIMARY":
                d["status"] = "ACTIVE"
        new = _deployment(f"ecs-svc/{next(self._ids)}", task_definition, self._desired(svc), "IN_PROGRESS")
        listed.insert(0, new)
        return new


def _deployment(
    deployment_id: str, task_definition: str, desired: int, state: str, since: timedelta = timedelta(0)
) -> dict[str, Any]:
    now = datetime.now(UTC) - since
    return {
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "runningCount": desired if state == "COMPLETED" else 0,
        "pendingCount": 0 if state == "COMPLETED" else desired,
        "failedTasks": 0,
        "rolloutState": state,
        "rolloutStateReason": f"ECS deployment {deployment_id} {state.lower().replace('_', ' ')}.",
        "createdAt": now,
        "updatedAt": now,
    }


def ledger_table(name: str = TABLE) -> str:
    """Create the ledger table as install does (partition key pk, TTL on expires_at); return its name."""
    ddb = boto3.client("dynamodb", region_name="us-east-1")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.update_time_to_live(TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires_at"})
    return name


def atomic_dynamodb(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make moto apply each DynamoDB write atomically, as DynamoDB does (moto checks and writes in two steps)."""
    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item"):
        original = getattr(DynamoDBBackend, name)

        def serialised(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, serialised)
