"""Reconcile and the survey behind status: drift found, listed, fixed; batched AWS calls; the scheduled run."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ecr_autodeploy import handler as lambda_handler
from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import DeployError
from ecr_autodeploy.core.outcomes import Outcome
from ecr_autodeploy.core.routes import RECONCILE_INPUT
from ecr_autodeploy.engine.dispatch import Dispatcher
from ecr_autodeploy.engine.gather import Gather, RevisionCache
from ecr_autodeploy.engine.reconcile import Reconciler
from ecr_autodeploy.engine.survey import Survey, SurveyResult
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import build_app
from tests.functional.rollouts import TABLE, RolloutCluster, ledger_table
from tests.functional.test_deploy import _set_pushed_at
from tests.functional.test_track import Recorder
from tests.functional.world import World

TARGETS = [{"cluster": "shop", "service": "api"}, {"cluster": "shop", "service": "worker"}]


@pytest.fixture
def shop(world: World) -> World:
    world.repository("shop/api")
    world.cluster("shop")
    for name in ("api", "worker"):
        world.service("shop", name, {"app": world.image_uri("shop/api", ":v0")})
    return world


def pushed(world: World, *tags: str) -> dict[str, str]:
    """Push one image per tag, each a minute after the one before; return {tag: digest}."""
    start = datetime.now(UTC) - timedelta(hours=1)
    digests = {}
    for minutes, tag in enumerate(tags):
        digests[tag] = world.push("shop/api", tag, tag)
        _set_pushed_at("shop/api", digests[tag], start + timedelta(minutes=minutes))
    return digests


def app(rules: list[dict[str, Any]], env: dict[str, str] | None = None, **kwargs: Any) -> Dispatcher:
    config = parse_config({"rules": rules}, "test-rules")
    return build_app(config, Clients(region="us-east-1"), env=env or {}, **kwargs)


def by_service(outcomes: tuple[Outcome, ...]) -> dict[str | None, tuple[str, str | None]]:
    return {o.service: (o.status, o.digest) for o in outcomes}


def test_reconcile_lists_then_fixes_drift(shop: World) -> None:
    digests = pushed(shop, "v0", "v1", "v2", "nightly")
    rules = [{"repository": "shop/api", "tags": ["v*"], "targets": TARGETS}]
    d = app(rules)

    listed = app(rules, dry_run=True).reconciler.run("us-east-1")

    assert by_service(listed.outcomes) == {"api": ("drift", digests["v2"]), "worker": ("drift", digests["v2"])}
    assert shop.images_of("shop", "api")["app"].endswith(":v0")
    fixed = d.reconciler.run("us-east-1")
    assert by_service(fixed.outcomes) == {"api": ("deployed", digests["v2"]), "worker": ("deployed", digests["v2"])}
    assert all(o.tag == "v2" for o in fixed.outcomes)
    assert shop.images_of("shop", "worker")["app"].endswith(f"@{digests['v2']}")
    again = d.reconciler.run("us-east-1")
    assert {o.status for o in again.outcomes} == {"unchanged"}


def test_a_tag_still_pointing_at_the_newest_image_is_not_drift(shop: World) -> None:
    pushed(shop, "v0")
    d = app([{"repository": "shop/api", "tags": ["*"], "targets": TARGETS}], dry_run=True)

    result = d.reconciler.run("us-east-1")

    assert {o.status for o in result.outcomes} == {"unchanged"}


def test_regex_rules_are_reconciled_for_the_repositories_that_exist(shop: World) -> None:
    shop.repository("shop/worker")
    shop.repository("other/thing")
    api = pushed(shop, "v1")["v1"]
    worker = shop.push("shop/worker", "v1", "w1")
    rules = [
        {"repository": "re:shop/(?P<name>[a-z]+)", "tags": ["*"], "targets": [{"cluster": "shop", "service": "{name}"}]}
    ]

    with pytest.raises(DeployError) as failed:
        app(rules).reconciler.run("us-east-1")

    outcomes = {(o["repository"], o["service"], o["status"]) for o in failed.value.outcomes}
    # The worker service runs shop/api only: a named failure (the event path would fail the same), not a guess.
    assert outcomes == {("shop/api", "api", "deployed"), ("shop/worker", "worker", "failed")}
    assert "1 of 2 services failed: us-east-1/shop/worker (TargetError)" in str(failed.value)
    assert shop.images_of("shop", "api")["app"].endswith(f"@{api}")
    assert not shop.images_of("shop", "worker")["app"].endswith(worker)


def test_a_service_running_a_newer_image_than_allowed_is_left_alone(shop: World) -> None:
    digests = pushed(shop, "v1", "nightly")
    shop.ecs().update_service(
        cluster="shop",
        service="api",
        taskDefinition=shop.ecs().register_task_definition(
            family="shop-api",
            containerDefinitions=[
                {"name": "app", "image": shop.image_uri("shop/api", f"@{digests['nightly']}"), "memory": 256}
            ],
        )["taskDefinition"]["taskDefinitionArn"],
    )
    d = app([{"repository": "shop/api", "tags": ["v*"], "targets": TARGETS[:1]}])

    (outcome,) = d.reconciler.run("us-east-1").outcomes

    assert outcome.status == "skipped"
    assert "pushed after the newest allowed" in outcome.reason
    assert shop.images_of("shop", "api")["app"].endswith(f"@{digests['nightly']}")


def test_a_digest_whose_rollout_failed_is_not_redeployed_by_reconcile(shop: World) -> None:
    ledger_table()
    clients = Clients(region="us-east-1")
    cluster = RolloutCluster(clients, breaker=True, breaker_rollback=True)
    notes = Recorder()
    config = parse_config({"rules": [{"repository": "shop/api", "tags": ["*"], "targets": TARGETS[:1]}]}, "test-rules")
    d = build_app(config, clients, env={"AUTODEPLOY_LEDGER_TABLE": TABLE}, cluster=cluster, notifier=notes)
    bad = pushed(shop, "v0", "v1")["v1"]
    d.handle(events.replicate("shop/api", bad, "v1"))
    d.handle(cluster.event(cluster.fail("api"), "FAILED"))
    assert shop.images_of("shop", "api")["app"].endswith(":v0")

    first = d.reconciler.run("us-east-1")
    second = d.reconciler.run("us-east-1")

    for result in (first, second):
        (outcome,) = result.outcomes
        assert (outcome.status, outcome.digest) == ("skipped", bad)
        assert "failed its rollout here" in outcome.reason
    assert len(cluster.updates) == 1
    assert notes.kinds() == ["started", "failed"]


def test_status_batches_and_shares_its_aws_calls(world: World) -> None:
    world.repository("shop/api")
    world.cluster("shop")
    digest = world.push("shop/api", "v1", "one")
    td = world.ecs().register_task_definition(
        family="shared",
        containerDefinitions=[{"name": "app", "image": world.image_uri("shop/api", ":v0"), "memory": 256}],
    )["taskDefinition"]["taskDefinitionArn"]
    names = [f"svc{i}" for i in range(23)]
    for name in names:
        world.ecs().create_service(cluster="shop", serviceName=name, taskDefinition=td, desiredCount=1)
    clients = Clients(region="us-east-1")
    calls: Counter[str] = Counter()
    for client in (clients.ecs("us-east-1"), clients.ecr("us-east-1")):
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    rules = [{"repository": "shop/api", "tags": ["*"], "targets": [{"cluster": "shop", "service": n} for n in names]}]
    config = parse_config({"rules": rules}, "test-rules")

    surveyed = build_app(config, clients, env={}).reconciler.survey.run("us-east-1")

    assert len(surveyed.rows) == 23
    assert {r.drift.state for r in surveyed.rows} == {"yes"}
    assert {r.newest.digest for r in surveyed.rows if r.newest} == {digest}
    assert calls == {"DescribeRepositories": 1, "DescribeImages": 1, "DescribeServices": 3, "DescribeTaskDefinition": 1}


@pytest.fixture
def fresh_handler(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(lambda_handler, "_app", None)
    yield
    monkeypatch.setattr(lambda_handler, "_app", None)


def test_the_schedule_runs_reconcile_in_the_function(
    shop: World, fresh_handler: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger_table()
    digest = pushed(shop, "v0", "v1")["v1"]
    rules = {"rules": [{"repository": "shop/api", "tags": ["*"], "targets": TARGETS}]}
    monkeypatch.setenv("AUTODEPLOY_CONFIG", json.dumps(rules))
    monkeypatch.setenv("AUTODEPLOY_LEDGER_TABLE", TABLE)

    result = lambda_handler.handler(dict(RECONCILE_INPUT), None)

    assert result["kind"] == "reconcile"
    assert {(o["service"], o["status"], o["digest"]) for o in result["outcomes"]} == {
        ("api", "deployed", digest),
        ("worker", "deployed", digest),
    }
    assert "notes" not in result  # the ledger is on


def ecs_ecr_calls(clients: Clients) -> Counter[str]:
    """Return a counter of every ECS and ECR call the clients make from now on."""
    calls: Counter[str] = Counter()
    for client in (clients.ecs("us-east-1"), clients.ecr("us-east-1")):
        client.meta.events.register("before-call", lambda model, **_: calls.update([model.name]))
    return calls


def test_deploying_the_drift_reads_each_revision_and_image_once(shop: World) -> None:
    digest = pushed(shop, "v0", "v1")["v1"]
    clients = Clients(region="us-east-1")
    config = parse_config({"rules": [{"repository": "shop/api", "tags": ["*"], "targets": TARGETS}]}, "test-rules")
    d = build_app(config, clients, env={})
    calls = ecs_ecr_calls(clients)

    result = d.reconciler.run("us-east-1")

    assert by_service(result.outcomes) == {"api": ("deployed", digest), "worker": ("deployed", digest)}
    assert shop.running("shop", "worker")["_tags"][0] == {"key": "team", "value": "shop"}  # tags copied as read
    # The engine describes the services again (what they run now decides), not the revisions or the images.
    assert calls == {
        "DescribeRepositories": 1,
        "DescribeImages": 1,
        "DescribeServices": 2,
        "DescribeTaskDefinition": 2,
        "RegisterTaskDefinition": 2,
        "UpdateService": 2,
    }


class RacingSurvey(Survey):
    """The survey, after which `meanwhile` changes the world before the reconcile deploys."""

    def __init__(self, survey: Survey, meanwhile: Callable[[], None]) -> None:
        super().__init__(survey.config, survey.gather, survey.ledger)
        self.meanwhile = meanwhile

    def run(self, region: str) -> SurveyResult:
        found = super().run(region)
        self.meanwhile()
        return found


def deploy_by_hand(world: World, service: str, containers: list[Any]) -> None:
    """Register a revision of the service's family with these containers and deploy it, as another tool would."""
    family = world.running("shop", service)["family"]
    arn = world.ecs().register_task_definition(family=family, containerDefinitions=containers)
    world.ecs().update_service(
        cluster="shop", service=service, taskDefinition=arn["taskDefinition"]["taskDefinitionArn"]
    )


def test_a_revision_changed_after_the_survey_is_read_afresh_and_kept(shop: World) -> None:
    digest = pushed(shop, "v0", "v1")["v1"]
    clients = Clients(region="us-east-1")
    config = parse_config({"rules": [{"repository": "shop/api", "tags": ["*"], "targets": TARGETS}]}, "test-rules")
    d = build_app(config, clients, env={})
    with_sidecar = [
        *shop.running("shop", "worker")["containerDefinitions"],
        {"name": "envoy", "image": "envoy:1.29", "memory": 64},
    ]
    racing = RacingSurvey(d.reconciler.survey, lambda: deploy_by_hand(shop, "worker", with_sidecar))
    reconciler = Reconciler(d.deployer, racing, d.reconciler.tracker)
    calls = ecs_ecr_calls(clients)

    result = reconciler.run("us-east-1")

    assert by_service(result.outcomes) == {"api": ("deployed", digest), "worker": ("deployed", digest)}
    assert shop.images_of("shop", "worker") == {"app": shop.image_uri("shop/api", f"@{digest}"), "envoy": "envoy:1.29"}
    assert calls["DescribeTaskDefinition"] == 3  # the worker's new revision, read under the lock


def test_a_warm_survey_describes_only_revisions_it_has_not_seen(shop: World) -> None:
    pushed(shop, "v0", "v1")
    clients = Clients(region="us-east-1")
    config = parse_config({"rules": [{"repository": "shop/api", "tags": ["*"], "targets": TARGETS}]}, "test-rules")
    d = build_app(config, clients, env={})
    calls = ecs_ecr_calls(clients)
    first = d.reconciler.survey.run("us-east-1")
    assert (calls["DescribeTaskDefinition"], len(first.reads.task_definitions)) == (2, 2)

    again = d.reconciler.survey.run("us-east-1")

    assert calls["DescribeTaskDefinition"] == 2
    assert again.rows == first.rows
    assert again.reads.task_definitions == {}  # remembered, not read now: nothing to hand to the deploy step
    d.reconciler.run("us-east-1")  # deploys a new revision to both services
    calls.clear()
    after = d.reconciler.survey.run("us-east-1")
    assert calls["DescribeTaskDefinition"] == 2
    assert {r.drift.state for r in after.rows} == {"no"}


def test_the_survey_remembers_a_bounded_number_of_revisions(shop: World) -> None:
    pushed(shop, "v0")
    clients = Clients(region="us-east-1")
    config = parse_config({"rules": [{"repository": "shop/api", "tags": ["*"], "targets": TARGETS}]}, "test-rules")
    built = build_app(config, clients, env={}).reconciler.survey
    survey = Survey(config, Gather(built.gather.cluster, built.gather.registry, cache=RevisionCache(keep=1)), None)
    calls = ecs_ecr_calls(clients)

    runs = [survey.run("us-east-1") for _ in range(3)]

    assert calls["DescribeTaskDefinition"] == 2 + 1 + 1  # one of the two revisions is remembered each time
    assert runs[0].rows == runs[1].rows == runs[2].rows


def test_an_image_deployed_after_the_survey_is_not_replaced_by_an_older_one(shop: World) -> None:
    older = pushed(shop, "v0", "v1")["v1"]
    clients = Clients(region="us-east-1")
    config = parse_config({"rules": [{"repository": "shop/api", "tags": ["*"], "targets": TARGETS}]}, "test-rules")
    d = build_app(config, clients, env={})
    newer: list[str] = []

    def push_and_deploy() -> None:
        newer.append(shop.push("shop/api", "v2", "v2"))
        deploy_by_hand(
            shop, "worker", [{"name": "app", "image": shop.image_uri("shop/api", f"@{newer[0]}"), "memory": 64}]
        )

    racing = RacingSurvey(d.reconciler.survey, push_and_deploy)

    result = Reconciler(d.deployer, racing, d.reconciler.tracker).run("us-east-1")

    assert by_service(result.outcomes) == {"api": ("deployed", older), "worker": ("skipped", older)}
    assert shop.images_of("shop", "worker") == {"app": shop.image_uri("shop/api", f"@{newer[0]}")}
