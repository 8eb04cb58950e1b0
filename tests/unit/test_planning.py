"""Planning and ordering: what one target gets from one image (pure values, no AWS)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from ecr_autodeploy.core.errors import TargetError
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import Service, ServiceRef, Snapshot, TaskDefinition
from ecr_autodeploy.core.ordering import Ordering, newer_running
from ecr_autodeploy.core.planning import (
    DIGEST_TAG,
    EVENT_TAG,
    PREVIOUS_TAG,
    force_order,
    image_refusal,
    plan_target,
    tag_refusal,
)
from ecr_autodeploy.core.strategies import DeploymentSettings
from ecr_autodeploy.core.tags import TagPolicy
from tests.fakes import HOST, image, image_event

API = ServiceRef("us-east-1", "shop", "api")


def target(strategy: str = "pin", tags: TagPolicy | None = None, **changes: object) -> Target:
    base = Target("shop", "api", "us-east-1", None, None, "pin", tags or TagPolicy(), False, False, 0)
    return replace(base, strategy=strategy, **changes)  # type: ignore[arg-type]


def snapshot(app: str, sidecar: str = "envoyproxy/envoy:v1.29", tags: tuple[dict[str, str], ...] = ()) -> Snapshot:
    arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:3"
    body = {
        "family": "shop-api",
        "taskDefinitionArn": arn,
        "revision": 3,
        "status": "ACTIVE",
        "cpu": "256",
        "containerDefinitions": [{"name": "app", "image": app}, {"name": "envoy", "image": sidecar}],
    }
    return Snapshot(Service(API, "arn:svc", arn), TaskDefinition(arn, body, tags))


V1, V2 = image(1, "v1"), image(2, "v2")


def test_a_pin_copies_the_revision_with_only_the_repository_s_containers_changed() -> None:
    snap = snapshot(f"{HOST}/shop/api:v1", tags=({"key": "team", "value": "shop"},))
    planned = plan_target(target(), snap, V2, HOST, event_id="e-1", running={})
    assert planned.action == "register"
    assert planned.containers == ("app",)
    assert planned.register is not None
    params = dict(planned.register)
    assert not {"revision", "taskDefinitionArn", "status"} & params.keys()
    assert params["cpu"] == "256"
    containers = {c["name"]: c["image"] for c in params["containerDefinitions"]}
    assert containers == {"app": f"{HOST}/shop/api@{V2.digest}", "envoy": "envoyproxy/envoy:v1.29"}
    assert params["tags"] == [
        {"key": "team", "value": "shop"},
        {"key": DIGEST_TAG, "value": V2.digest},
        {"key": EVENT_TAG, "value": "e-1"},
        {"key": PREVIOUS_TAG, "value": snap.task_definition.arn},
    ]


def test_the_same_digest_is_unchanged_and_an_older_one_is_skipped() -> None:
    running_v2 = snapshot(f"{HOST}/shop/api@{V2.digest}")
    assert plan_target(target(), running_v2, V2, HOST, event_id="e", running={}).action == "unchanged"
    older = plan_target(target(), running_v2, V1, HOST, event_id="e", running={V2.digest: V2})
    assert older.action == "skip"
    assert "allow_downgrade" in older.reason
    allowed = target(allow_downgrade=True)
    assert plan_target(allowed, running_v2, V1, HOST, event_id="e", running={V2.digest: V2}).changes


def test_a_target_without_a_container_of_the_repository_is_a_target_error() -> None:
    with pytest.raises(TargetError, match="no container of task definition shop-api uses repository 'shop/api'"):
        plan_target(target(), snapshot("nginx:1"), V2, HOST, event_id="e", running={})
    with pytest.raises(TargetError, match="has no container 'web'"):
        plan_target(target(containers=("web",)), snapshot("nginx:1"), V2, HOST, event_id="e", running={})


def test_force_plans_a_new_deployment_and_the_last_forced_digest_orders_it() -> None:
    snap = snapshot(f"{HOST}/shop/api:v1")
    forced = plan_target(target("force"), snap, V1, HOST, event_id="e", running={})
    assert forced.action == "force"
    assert forced.action == "force"
    assert forced.tag == "v1"
    assert force_order(forced, V1.digest, V1, {}).action == "unchanged"
    assert force_order(forced, V2.digest, V1, {V2.digest: V2}).action == "skip"
    assert force_order(forced, None, V1, {}).action == "force"
    # Force re-pulls :v1, so an image without that tag would not run: it is refused, not "deployed".
    other = plan_target(target("force"), snap, V2, HOST, event_id="e", running={})
    assert other.action == "skip"
    assert "force re-pulls 'v1'" in other.reason


def test_the_tag_gate_judges_the_event_s_tag_or_the_image_s_tags_in_ecr() -> None:
    only_v = target(tags=TagPolicy(allow=("v*",)))
    assert tag_refusal(only_v, image_event(V2, "v2")) is None
    assert "matches none of tags 'v*'" in (tag_refusal(only_v, image_event(V2, "pr-1")) or "")
    assert tag_refusal(only_v, image_event(V2, None)) is None  # judged on ECR's tags instead
    assert image_refusal(only_v, V2) is None
    assert image_refusal(only_v, image(3)) is not None
    # ECR is believed, not the event: a digest ECR tags dev-123 is refused even if the event says v9.9.9.
    claimed = image_refusal(only_v, image(4, "dev-123"), "v9.9.9")
    assert claimed is not None
    assert "the event named tag 'v9.9.9' but ECR tags" in claimed


def test_ordering_is_by_push_time_and_unknown_times_are_never_newer() -> None:
    by_push = Ordering()
    assert [by_push.newer(V2, V1), by_push.newer(V1, V2), by_push.newer(V1, V1)] == [True, False, False]
    unknown = replace(V2, pushed_at=None)
    assert [by_push.newer(unknown, V1), by_push.newer(V1, unknown)] == [False, False]
    assert by_push.newest([V1, V2, image(0)]) == V2
    assert by_push.newest([]) is None
    by_push = Ordering()
    assert newer_running([V2.digest, None], V1, {V2.digest: V2}, by_push) == V2
    assert newer_running([V1.digest], V2, {V1.digest: V1}, by_push) is None


@pytest.mark.parametrize(
    ("controller", "managed_by", "says"),
    [
        ("CODE_DEPLOY", None, "Deploy it with CodeDeploy"),
        ("CODE_DEPLOY", None, "migrate the service to ECS-native blue/green"),
        ("EXTERNAL", None, "its task sets are managed by another tool"),
        ("ECS", "ECS", "Express service managed by ECS"),
    ],
)
def test_a_service_another_controller_deploys_is_skipped_saying_what_to_do(
    controller: str, managed_by: str | None, says: str
) -> None:
    snap = snapshot(f"{HOST}/shop/api:v1")
    other = replace(snap, service=replace(snap.service, deployment_controller=controller, managed_by=managed_by))
    planned = plan_target(target(), other, V2, HOST, event_id="e", running={})
    assert (planned.action, planned.changes) == ("skip", False)
    assert says in planned.reason
    assert planned.register is None


def test_the_rule_s_strategy_goes_with_the_deploy_merged_into_the_service_s_configuration() -> None:
    snap = snapshot(f"{HOST}/shop/api:v1")
    current = {"deploymentCircuitBreaker": {"enable": True, "rollback": True}, "maximumPercent": 200}
    snap = replace(snap, service=replace(snap.service, deployment_configuration=current))
    canary = DeploymentSettings("CANARY", canary_percent=10.0, canary_bake_minutes=5, bake_minutes=10)
    planned = plan_target(target(deployment=canary), snap, V2, HOST, event_id="e", running={})
    assert planned.action == "register"
    assert planned.deployment_configuration == {
        **current,
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
        "bakeTimeInMinutes": 10,
    }
    assert plan_target(target(), snap, V2, HOST, event_id="e", running={}).deployment_configuration is None
