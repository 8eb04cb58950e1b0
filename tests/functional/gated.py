"""A shop on moto wired as the installed function is, for the gate tests: the ledger, rollouts a test completes
or fails (with their ECS events), a message recorder, and a clock the test moves."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.pause_book import PauseBook
from ecr_autodeploy.core.config import Config, parse_config
from ecr_autodeploy.core.outcomes import Outcome, Result
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.engine.ports import GateStorePort
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import EngineSettings, build_app
from tests.functional.rollouts import TABLE, RolloutCluster, ledger_table
from tests.functional.test_deploy import _set_pushed_at
from tests.functional.test_track import Recorder
from tests.functional.world import World

REGION = "us-east-1"


class Gated:
    """The function's wiring over a shop whose services run shop/api:v0, with a clock `offset` seconds ahead."""

    def __init__(self, world: World, rules: Sequence[Mapping[str, Any]], services: Mapping[str, Sequence[str]]) -> None:
        ledger_table()
        self.world = world
        world.repository("shop/api")
        for cluster, names in services.items():
            world.cluster(cluster)
            for name in names:
                world.service(cluster, name, {"app": world.image_uri("shop/api", ":v0")})
        self.offset = 0.0
        self.clients = Clients(region=REGION)
        self.cluster = RolloutCluster(self.clients)
        self.notes = Recorder()
        self.config: Config = parse_config({"rules": list(rules)}, "rules.yaml")
        self.app = self.wire()
        self.store = PauseBook(self.clients, TABLE)
        self._pushed = 0

    def wire(
        self, *, dry_run: bool = False, config: Config | None = None, store: GateStorePort | None = None
    ) -> Dispatcher:
        return build_app(
            config or self.config,
            self.clients,
            env={"AUTODEPLOY_LEDGER_TABLE": TABLE},
            cluster=self.cluster,
            notifier=self.notes,
            dry_run=dry_run,
            settings=EngineSettings(clock=self.now),
            gate_store=store,
        )

    def now(self) -> float:
        return time.time() + self.offset

    def at(self, when: datetime) -> None:
        """Move the clock to `when` (it keeps running from there)."""
        self.offset = when.timestamp() - time.time()

    def push(self, tag: str) -> str:
        """Push shop/api:TAG, a minute after the image pushed before it; return its digest."""
        digest = self.world.push("shop/api", tag, tag)
        self._pushed += 1
        _set_pushed_at("shop/api", digest, datetime.now(UTC) - timedelta(hours=1) + timedelta(minutes=self._pushed))
        return digest

    def arrive(self, tag: str) -> tuple[str, Result]:
        """Push an image and hand its replication event to the function; return its digest and the result."""
        digest = self.push(tag)
        return digest, self.app.handle(events.replicate("shop/api", digest, tag))

    def complete(self, service: str, cluster: str) -> Result:
        """Complete the service's rollout and hand ECS's COMPLETED event to the function."""
        deployment = self.cluster.complete(service, cluster)
        return self.app.handle(self.cluster.event(deployment, "COMPLETED", service, cluster))

    def fail(self, service: str, cluster: str) -> Result:
        """Fail the service's rollout and hand ECS's FAILED event to the function."""
        deployment = self.cluster.fail(service, cluster)
        return self.app.handle(self.cluster.event(deployment, "FAILED", service, cluster))

    def reconcile(self) -> Result:
        return self.app.reconciler.run(REGION)

    def runs(self, cluster: str, service: str) -> str:
        """Return the image the service's app container runs."""
        return self.world.images_of(cluster, service)["app"]

    def updates(self) -> list[str]:
        return [service for service, _ in self.cluster.updates]

    def set_alarm(self, name: str, state: str) -> None:
        set_alarm(name, state)


def set_alarm(name: str, state: str) -> None:
    """Create a CloudWatch alarm unless it exists, and set its state."""
    cloudwatch = boto3.client("cloudwatch", region_name=REGION)
    if not cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            MetricName="HTTPCode_Target_5XX_Count",
            Namespace="AWS/ApplicationELB",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanThreshold",
        )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def by_target(result: Result) -> dict[str, Outcome]:
    """Return the outcomes of a result that name a service, by ``cluster/service``."""
    return {f"{o.cluster}/{o.service}": o for o in result.outcomes if o.service}


def statuses(result: Result) -> dict[str, str]:
    return {key: o.status for key, o in by_target(result).items()}
