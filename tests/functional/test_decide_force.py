"""`force` is honest: it deploys the tag the task definition names and says what that tag is (decision item 2)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.cli.main import cli
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import build_app
from tests.functional.world import World

FORCE = [{"repository": "shop/api", "strategy": "force", "targets": [{"cluster": "shop", "service": "api"}]}]


class ReportingTasks(Cluster):
    """The ECS adapter with running tasks that report a chosen digest (moto runs no tasks for services)."""

    def __init__(self, clients: Clients) -> None:
        super().__init__(clients)
        self.running: dict[str, tuple[str, ...]] = {}

    def task_digests(self, ref: ServiceRef) -> dict[str, tuple[str, ...]]:
        return dict(self.running)


@pytest.fixture
def latest(world: World) -> World:
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":latest")})
    return world


def app(cluster: Cluster | None = None, rules: Sequence[dict[str, Any]] = FORCE) -> Dispatcher:
    config = parse_config({"rules": list(rules)}, "rules.yaml")
    return build_app(config, Clients(region="us-east-1"), env={}, cluster=cluster)


def test_force_does_not_claim_to_deploy_an_image_ecs_will_not_pull(latest: World) -> None:
    release = latest.push("shop/api", "1.5.0", "release")

    (outcome,) = app().handle(events.replicate("shop/api", release, "1.5.0")).outcomes

    assert outcome.status == "skipped"
    assert "force re-pulls 'latest'" in outcome.reason
    assert release in outcome.reason


def test_force_reports_the_digest_the_tag_resolves_to(latest: World) -> None:
    first = latest.push("shop/api", "latest", "one")
    d = app()
    (deployed,) = d.handle(events.replicate("shop/api", first, "latest")).outcomes
    assert (deployed.status, deployed.digest, deployed.tag) == ("deployed", first, "latest")

    # CI moves :latest: that is a new image to deploy, not "unchanged".
    second = latest.push("shop/api", "latest", "two")
    (again,) = d.handle(events.replicate("shop/api", second, "latest")).outcomes
    assert (again.status, again.digest) == ("deployed", second)


def test_a_force_service_stuck_on_the_old_digest_shows_as_drift(latest: World) -> None:
    old = latest.push("shop/api", "latest", "old")
    latest.push("shop/api", "v1", "old")  # keep the old image listed once :latest moves
    new = latest.push("shop/api", "latest", "new")
    _backdate_push(old, seconds=60)
    cluster = ReportingTasks(Clients(region="us-east-1"))
    cluster.running = {"app": (old,)}  # the tasks still run what :latest was

    surveyed = app(cluster).reconciler.survey.run("us-east-1")

    (row,) = surveyed.rows
    assert (row.drift.state, row.newest.digest if row.newest else None) == ("yes", new)
    cluster.running = {"app": (new,)}
    (row,) = app(cluster).reconciler.survey.run("us-east-1").rows
    assert row.drift.state == "no"


def test_without_a_ledger_a_retried_force_event_does_not_deploy_twice(latest: World) -> None:
    from tests.functional.rollouts import RolloutCluster

    image = latest.push("shop/api", "latest", "one")
    cluster = RolloutCluster(Clients(region="us-east-1"))
    d = app(cluster)
    event = events.replicate("shop/api", image, "latest")
    assert [o.status for o in d.handle(event).outcomes] == ["deployed"]
    # The retry (Lambda's, after another target failed) sees a deployment that started after the push.
    _backdate_push(image, seconds=5)
    (retried,) = d.handle(event).outcomes
    assert retried.status == "unchanged"
    assert "already pulled :latest" in retried.reason
    assert len(cluster.updates) == 1


def test_deploy_force_by_hand_for_another_tag_says_why(latest: World, tmp_path: Path) -> None:
    latest.ledger()
    latest.push("shop/api", "1.5.0", "release")
    result = CliRunner().invoke(
        cli,
        ["--region", "us-east-1", "deploy", "--cluster", "shop", "--service", "api", "--image", "shop/api:1.5.0",
         "--strategy", "force"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "force re-pulls 'latest'" in result.output


def _backdate_push(digest: str, seconds: int) -> None:
    from moto.backends import get_backend

    from tests.functional.world import ACCOUNT

    for image in get_backend("ecr")[ACCOUNT]["us-east-1"].repositories["shop/api"].images:
        if image.get_image_digest() == digest:
            image.image_pushed_at = int(image.image_pushed_at) - seconds
