"""Fuzzing the Lambda entry point: whatever arrives ends as an outcome or a project error, and only a valid image
event (or the reconcile schedule) ever deploys.

Inputs go through ``ecr_autodeploy.handler.handler`` with its own wiring (rules from AUTODEPLOY_CONFIG, the ledger
from AUTODEPLOY_LEDGER_TABLE, clients it makes itself) on moto. RegisterTaskDefinition and UpdateService are
counted with a botocore ``before-send`` hook that every client the handler creates carries. The world is shared
by the examples of one test on purpose: each example pushes its own image to its own repository, so that an
unbroken event would always deploy.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.handlers
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ecr_autodeploy import handler as lambda_handler
from ecr_autodeploy.core.ecs_events import route
from ecr_autodeploy.core.errors import AutodeployError, EventError
from ecr_autodeploy.core.events import ImageEvent, parse_event
from tests.functional.world import World
from tests.reliability.event_shapes import (
    DEPLOYING,
    JSON,
    SHAPES,
    Image,
    images,
    mutated,
    repository_names,
    well_formed,
)

RULES = {
    "rules": [
        {
            # Each fuzzed repository has its own service, whose app container runs an image of it (a named
            # container only takes images of the repository it already runs).
            "repository": "re:fuzz/(?P<name>r[0-9]+)",
            "tags": ["*"],
            "targets": [{"cluster": "shop", "service": "{name}", "containers": ["app"]}],
        },
        {
            "repository": "shop/*",
            "tags": ["*"],
            "targets": [{"cluster": "shop", "service": "api", "containers": ["app"]}],
        },
    ]
}
DEPLOY_CALLS = ("RegisterTaskDefinition", "UpdateService")
LEDGER_TABLE = "ecr-autodeploy-ledger"
# Values that route a mutated field to another accepted shape, which is no longer a broken event.
ACCEPTED = frozenset(
    {
        "aws.ecr",
        "aws.ecs",
        "ecr-autodeploy",
        "ECR Replication Action",
        "ECR Image Action",
        "AWS API Call via CloudTrail",
        "AWS Service Event via CloudTrail",
        "ReplicateImage",
        "PutImage",
        "REPLICATE",
        "PUSH",
        "SUCCESS",
    }
)
# Every shape with checked fields; the reconcile input has none (its detail is ignored), and it may rightly deploy.
CHECKED = tuple(s for s in SHAPES if s.name != "reconcile")
SHARED_WORLD = settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
)


@dataclass
class LambdaWorld:
    """moto with one service, the handler wired from the environment, and a count of AWS calls by operation."""

    world: World
    calls: Counter[str] = field(default_factory=Counter)
    repositories: Iterator[int] = field(default_factory=itertools.count)

    def count(self, event_name: str, **_: Any) -> None:
        self.calls[event_name.rsplit(".", 1)[-1]] += 1

    @property
    def deploy_calls(self) -> int:
        return sum(self.calls[name] for name in DEPLOY_CALLS)

    def fresh_image(self, event_id: str) -> Image:
        """Push an image to a new repository the rules map; return what an event about it carries."""
        name = f"r{next(self.repositories)}"
        repository = f"fuzz/{name}"
        self.world.repository(repository)
        self.world.service("shop", name, {"app": self.world.image_uri(repository, ":v0")})
        return Image(repository, self.world.push(repository, "v1", repository), "v1", event_id=event_id)

    def invoke(self, event: object) -> dict[str, Any] | AutodeployError:
        """Return the handler's result or the project error it raised; anything else propagates (a bug)."""
        try:
            result = lambda_handler.handler(event, None)
        except AutodeployError as err:
            return err
        json.dumps(result)  # Lambda must be able to serialise it
        return result


@pytest.fixture
def lambda_world(monkeypatch: pytest.MonkeyPatch) -> Iterator[LambdaWorld]:
    with mock_aws():
        world = World()
        world.repository("shop/api")
        world.cluster("shop")
        world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
        here = LambdaWorld(world)
        monkeypatch.setattr(
            botocore.handlers,
            "BUILTIN_HANDLERS",
            [*botocore.handlers.BUILTIN_HANDLERS, *((f"before-send.ecs.{op}", here.count) for op in DEPLOY_CALLS)],
        )
        boto3.client("dynamodb", region_name=world.region).create_table(
            TableName=LEDGER_TABLE,
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
        )
        monkeypatch.setenv("AUTODEPLOY_CONFIG", json.dumps(RULES))
        monkeypatch.setenv("AUTODEPLOY_LEDGER_TABLE", LEDGER_TABLE)
        monkeypatch.setattr(lambda_handler, "_app", None)
        yield here
        monkeypatch.setattr(lambda_handler, "_app", None)


def may_deploy(event: object) -> bool:
    """Return whether an input is one that can rightly deploy: the reconcile schedule, or a valid image event."""
    if route(event) == "reconcile":
        return True
    if route(event) != "image":
        return False
    try:
        return isinstance(parse_event(event), ImageEvent)
    except EventError:
        return False


def statuses(result: dict[str, Any] | AutodeployError) -> list[str]:
    return [] if isinstance(result, AutodeployError) else [str(o["status"]) for o in result["outcomes"]]


@pytest.mark.slow
@SHARED_WORLD
@given(data=st.data())
def test_a_broken_field_gives_an_error_naming_it_and_never_deploys(
    lambda_world: LambdaWorld, data: st.DataObject
) -> None:
    shape = data.draw(st.sampled_from(CHECKED), label="shape")
    checked = data.draw(st.sampled_from(shape.fields), label="field")
    image = lambda_world.fresh_image(data.draw(st.uuids().map(str), label="event id"))
    event = shape.build(image)
    node: Any = event
    for step in checked.path[:-1]:
        node = node[step]
    valid = node.get(checked.path[-1]) if isinstance(node, dict) else node[checked.path[-1]]
    value = data.draw(checked.kind.bad(valid), label="value")
    assume(not (isinstance(value, str) and value in ACCEPTED))
    broken = mutated(event, checked.path, value)
    before = lambda_world.deploy_calls

    result = lambda_world.invoke(broken)

    assert lambda_world.deploy_calls == before, f"{shape.name}: broken {checked.dotted} deployed"
    if isinstance(result, EventError):
        assert result.field in (checked.dotted, *checked.names), (shape.name, checked.dotted, str(result))
    elif isinstance(result, AutodeployError):
        raise AssertionError(f"{shape.name}: broken {checked.dotted} gave {type(result).__name__}: {result}")
    else:
        assert checked.kind.routes, f"{shape.name}: {checked.dotted}={value!r} was accepted: {result}"
        assert "deployed" not in statuses(result)
    unbroken = lambda_world.invoke(event)
    if shape.deploys:
        # The same event, unbroken, deploys: what stopped it was the broken field.
        assert statuses(unbroken) == ["deployed"], shape.name
        assert lambda_world.deploy_calls == before + len(DEPLOY_CALLS)
    else:
        assert not isinstance(unbroken, AutodeployError), unbroken


@pytest.mark.slow
@SHARED_WORLD
@given(event=well_formed())
def test_every_well_formed_event_ends_as_an_outcome_or_a_project_error(
    lambda_world: LambdaWorld, event: dict[str, Any]
) -> None:
    before = lambda_world.deploy_calls

    result = lambda_world.invoke(event)

    if lambda_world.deploy_calls != before:
        assert may_deploy(event), event
        assert "deployed" in statuses(result) or isinstance(result, AutodeployError)


@pytest.mark.slow
@SHARED_WORLD
@given(
    event=st.one_of(
        JSON,
        st.builds(
            lambda base, damage: _damage(base, damage),
            well_formed(),
            st.lists(st.tuples(st.integers(0, 10_000), JSON | st.just(None)), min_size=1, max_size=4),
        ),
        st.builds(lambda image: {"source": "aws.ecr", "detail-type": "ECR Replication Action", "detail": image}, JSON),
    )
)
def test_arbitrary_input_never_escapes_as_a_builtin_exception(lambda_world: LambdaWorld, event: Any) -> None:
    before = lambda_world.deploy_calls

    result = lambda_world.invoke(event)

    if lambda_world.deploy_calls != before:
        assert may_deploy(event), event
        assert "deployed" in statuses(result) or isinstance(result, AutodeployError)


@pytest.mark.slow
@SHARED_WORLD
@given(image=images(repository=st.just("shop/api") | repository_names), data=st.data())
def test_a_valid_event_for_an_image_that_is_not_there_is_a_project_error(
    lambda_world: LambdaWorld, image: Image, data: st.DataObject
) -> None:
    shape = data.draw(st.sampled_from(DEPLOYING))
    before = lambda_world.deploy_calls

    result = lambda_world.invoke(shape.build(image))

    assert lambda_world.deploy_calls == before
    assert isinstance(result, AutodeployError) or "deployed" not in statuses(result)


def _damage(base: dict[str, Any], damage: list[tuple[int, Any]]) -> Any:
    """Return `base` with some nodes (picked by index among all paths) replaced by other JSON values."""
    event: Any = base
    for pick, value in damage:
        paths = _paths(event)
        if not paths:
            return value
        event = mutated(event, paths[pick % len(paths)], value)
    return event


def _paths(value: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    found: list[tuple[str | int, ...]] = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found += _paths(item, (*prefix, i))
    return found


def test_a_one_character_repository_name_is_refused(lambda_world: LambdaWorld) -> None:
    image = lambda_world.fresh_image("0b7e2a4c-0000-4000-8000-000000000001")
    event = mutated(DEPLOYING[0].build(image), ("detail", "repository-name"), "s")

    result = lambda_world.invoke(event)

    assert isinstance(result, EventError)
    assert result.field == "detail.repository-name"


def test_a_region_botocore_refuses_is_a_project_error(lambda_world: LambdaWorld) -> None:
    # Matches intake's region pattern but is longer than botocore's 63 characters.
    image = lambda_world.fresh_image("0b7e2a4c-0000-4000-8000-000000000002")
    event = mutated(DEPLOYING[0].build(image), ("region",), "us-east-" + "1" * 70)
    before = lambda_world.deploy_calls

    result = lambda_world.invoke(event)

    assert isinstance(result, AutodeployError), result
    assert lambda_world.deploy_calls == before


def test_a_region_longer_than_botocore_takes_is_refused_at_intake(lambda_world: LambdaWorld) -> None:
    image = lambda_world.fresh_image("0b7e2a4c-0000-4000-8000-000000000003")
    event = mutated(DEPLOYING[0].build(image), ("region",), "us-east-" + "1" * 70)

    result = lambda_world.invoke(event)

    assert isinstance(result, EventError)
    assert result.field == "region"
