"""Intake of anything at all: whatever comes in, nothing but EventError is raised, and what parses is usable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecr_autodeploy.core.errors import EventError
from ecr_autodeploy.core.events import (
    DIGEST_RE,
    Ignored,
    ImageEvent,
    ParsedEvent,
    ReplicationFailure,
    parse_event,
    parse_repository_arn,
)
from tests.samples import load_event
from tests.unit.event_expectations import EXPECTED, Rejected, push_event

HUGE = "a" * 1_000_000


def _odd_shapes() -> Iterator[tuple[str, object]]:
    yield "none", None
    yield "int", 42
    yield "string", '{"source": "aws.ecr"}'
    yield "bytes", b"{}"
    yield "empty list", []
    yield "empty object", {}
    yield "only source", {"source": "aws.ecr"}
    yield "source a list", {"source": ["aws.ecr"], "detail-type": "ECR Image Action"}
    yield "detail-type an object", {"source": "aws.ecr", "detail-type": {"ECR Image Action": True}}
    yield "id a number", {**load_event("push_success_tagged"), "id": 7}
    for name in ("push_success_tagged", "replicate_success_tagged", "cloudtrail_replicate_image_api_call"):
        yield f"{name}: detail a list", {**load_event(name), "detail": [load_event(name)["detail"]]}
        yield f"{name}: detail null", {**load_event(name), "detail": None}
        yield f"{name}: detail empty", {**load_event(name), "detail": {}}
    for key in ("action-type", "result", "repository-name", "image-digest", "image-tag", "source-region"):
        values: tuple[object, ...] = (None, 0, 1.5, True, [], {}, [None], HUGE, "\x00", "\ud800")
        for value in values:
            raw = load_event("replicate_success_tagged")
            raw["detail"][key] = value
            yield f"replicate {key}={type(value).__name__}:{str(value)[:8]!r}", raw
    all_resources: tuple[object, ...] = (
        "arn",
        3,
        {"ARN": "x"},
        ["arn:aws:ecr:us-east-2:123456789012:repository/testrepo"],
        [None],
        [[]],
    )
    for resources in all_resources:
        raw = load_event("cloudtrail_replicate_image_api_call")
        raw["detail"]["resources"] = resources
        yield f"cloudtrail resources={resources!r}", raw
    arns: tuple[object, ...] = (
        None,
        5,
        [],
        "",
        ":repository/",
        "arn:aws:ecr:us-east-2:123456789012:repository/" + HUGE,
    )
    for arn in arns:
        raw = load_event("cloudtrail_replicate_image_api_call")
        raw["detail"]["resources"] = [{"ARN": arn}]
        yield f"cloudtrail ARN={str(arn)[:20]!r}", raw
    requests: tuple[object, ...] = ([], "x", {"repositoryName": 5}, {"repositoryName": HUGE}, {"imageTag": 5})
    for request in (*requests, {"imageDigest": []}):
        raw = load_event("cloudtrail_put_image_without_resources_or_envelope_account")
        raw["detail"]["requestParameters"] = request
        yield f"cloudtrail requestParameters={str(request)[:20]!r}", raw
    for name_value in (None, ["PutImage"], {"PutImage": 1}, HUGE):
        raw = load_event("cloudtrail_put_image_api_call")
        raw["detail"]["eventName"] = name_value
        yield f"cloudtrail eventName={str(name_value)[:12]!r}", raw
    raw = load_event("cloudtrail_put_image_api_call")
    raw["detail"]["errorCode"] = {"code": HUGE}
    yield "cloudtrail errorCode an object", raw
    yield "source huge", {**load_event("push_success_tagged"), "source": HUGE}
    yield "detail-type huge", {**load_event("push_success_tagged"), "detail-type": HUGE}
    yield "repository of many segments", push_event(**{"repository-name": "a/" * 200_000 + "!"})
    yield "repository of many separators", push_event(**{"repository-name": "a-" * 200_000 + "!"})


ODD_SHAPES = list(_odd_shapes())


@pytest.mark.parametrize("raw", [raw for _, raw in ODD_SHAPES], ids=[label for label, _ in ODD_SHAPES])
def test_odd_shapes_raise_only_event_error(raw: object) -> None:
    _check_parses_or_rejects(raw)


def _check_parses_or_rejects(raw: object) -> None:
    rejected: EventError | None = None
    try:
        result: ParsedEvent = parse_event(raw)
    except EventError as err:
        rejected = err
    if rejected is not None:
        assert rejected.field
        assert len(str(rejected)) < 500, "messages clip what they quote"
        return
    assert isinstance(result, ImageEvent | ReplicationFailure | Ignored)
    if isinstance(result, Ignored):
        assert len(result.reason) < 500
        return
    # Whatever parsed is usable as is: the ARN round-trips and the digest, when present, is a real digest.
    assert parse_repository_arn(result.repository_arn, "f") == (result.region, result.account, result.repository)
    if result.digest is not None:
        assert DIGEST_RE.match(result.digest)


def _paths(value: object, prefix: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=80),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
PARSEABLE = [name for name, expected in EXPECTED.items() if not isinstance(expected, Rejected)]


@settings(max_examples=400, database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), name=st.sampled_from(PARSEABLE), replacement=JSON_VALUES, delete=st.booleans())
def test_any_single_field_changed_raises_only_event_error(
    data: st.DataObject, name: str, replacement: object, delete: bool
) -> None:
    raw = load_event(name)
    path = data.draw(st.sampled_from(list(_paths(raw))))
    parent: Any = raw
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    _check_parses_or_rejects(raw)
