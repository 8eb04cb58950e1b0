"""The task-definition change of a pinned deploy, field by field, with named list items compared by name."""

from __future__ import annotations

from typing import Any

from ecr_autodeploy.core.diff import registration, task_definition_diff
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.model import TaskDefinition
from ecr_autodeploy.core.planning import pin_task_definition
from ecr_autodeploy.core.tags import TagPolicy
from tests.fakes import HOST, image

BODY: dict[str, Any] = {
    "taskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/shop-api:3",
    "family": "shop-api",
    "revision": 3,
    "status": "ACTIVE",
    "cpu": "256",
    "containerDefinitions": [
        {"name": "log-router", "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2"},
        {
            "name": "app",
            "image": f"{HOST}/shop/api:v0",
            "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
        },
    ],
}
TAGS = ({"key": "team", "value": "shop"},)


TARGET = Target("shop", "api", "us-east-1", None, None, "pin", TagPolicy(), False, False, 0)


def test_a_pin_changes_the_image_and_adds_its_own_tags() -> None:
    arrived = image(7, "v1")
    running = TaskDefinition(str(BODY["taskDefinitionArn"]), BODY, TAGS)
    register, _ = pin_task_definition(running, ["app"], HOST, arrived, "event-1", TARGET, {})
    changes = task_definition_diff(registration(BODY, TAGS), register)
    assert [(c.path, c.kind) for c in changes] == [
        ("containerDefinitions[app].image", "changed"),
        ("tags[ecr-autodeploy:digest]", "added"),
        ("tags[ecr-autodeploy:event]", "added"),
        ("tags[ecr-autodeploy:previous]", "added"),
    ]
    assert changes[0].before == f"{HOST}/shop/api:v0"
    assert changes[0].after == f"{HOST}/shop/api@{arrived.digest}"
    assert changes[1].before is None
    assert changes[1].after == {"key": "ecr-autodeploy:digest", "value": arrived.digest}


def test_read_only_fields_and_order_of_named_items_are_not_changes() -> None:
    shuffled = dict(BODY, revision=4, containerDefinitions=list(reversed(BODY["containerDefinitions"])))
    assert task_definition_diff(registration(BODY), registration(shuffled)) == ()


def test_removed_and_positional_changes() -> None:
    before = {"family": "f", "volumes": [{"host": {}}], "cpu": "256"}
    after = {"family": "f", "volumes": [{"host": {"sourcePath": "/x"}}]}
    changes = {c.path: c for c in task_definition_diff(before, after)}
    assert changes["cpu"].kind == "removed"
    assert changes["volumes[0].host.sourcePath"].after == "/x"
