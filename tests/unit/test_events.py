"""Intake: every sample in tests/events parses to its exact value, is ignored for its reason, or is rejected naming
its field; and no input at all raises anything but EventError."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
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
    registry_host,
    repository_arn,
)
from tests.samples import load_event, sample_names


@dataclass(frozen=True)
class IgnoredBecause:
    """The sample is Ignored, and its reason contains `reason`."""

    reason: str


@dataclass(frozen=True)
class Rejected:
    """The sample raises EventError naming `field`, with `problem` in its message."""

    field: str
    problem: str


Expectation = ImageEvent | ReplicationFailure | IgnoredBecause | Rejected

ACCOUNT = "123456789012"
SHOP_API_LATEST = "sha256:3dd582edf6cd60cf59a55216e5d31a32d875d9b6abbab5931ab4499f7883be20"

# One entry per file in tests/events: a new sample without an entry here fails test_sample.
EXPECTED: dict[str, Expectation] = {
    # --- ECR Replication Action ---------------------------------------------------------------------------------
    "replicate_success_tagged": ImageEvent(
        kind="replicate",
        event_id="c8b133b1-6029-ee73-e2a1-4f466b8ba999",
        time="2024-05-08T20:44:54Z",
        account=ACCOUNT,
        region="us-east-1",
        repository="shop-api",
        repository_arn="arn:aws:ecr:us-east-1:123456789012:repository/shop-api",
        tag="v1.4.2",
        digest="sha256:cc66973f5b77625cd7bd416de6df841f3eba7b77f88768fe6b52543721b847ba",
        source_account=ACCOUNT,
        source_region="us-west-2",
    ),
    "replicate_success_untagged": ImageEvent(
        kind="replicate",
        event_id="0b5e6f1c-2d7a-4c0e-9f3b-8a1d2c3e4f50",
        time="2024-05-08T20:45:10Z",
        account=ACCOUNT,
        region="us-east-1",
        repository="shop-api",
        repository_arn="arn:aws:ecr:us-east-1:123456789012:repository/shop-api",
        tag=None,
        digest="sha256:018ecf8dbd0bc80748e4a35a91ae3aad0512d5617099021b4c00ce1ac748784a",
        source_account=ACCOUNT,
        source_region="us-west-2",
    ),
    "replicate_success_repository_with_slashes": ImageEvent(
        kind="replicate",
        event_id="7d1c9a40-5f3e-4b8a-a2c1-0e9d8f7a6b5c",
        time="2024-06-01T09:12:03Z",
        account="210987654321",
        region="eu-central-1",
        repository="docker-hub/library/alpine",
        repository_arn="arn:aws:ecr:eu-central-1:210987654321:repository/docker-hub/library/alpine",
        tag="3.19.1",
        digest="sha256:bb9fa796d6fdd53bab798ab9258f5bc78839b27e1a1e0c012334e8bb91c1cb16",
        source_account=ACCOUNT,
        source_region="us-east-1",
    ),
    "replicate_success_repository_with_double_underscore_and_dashes": ImageEvent(
        kind="replicate",
        event_id="3f0a2b1c-9d8e-4f7a-b6c5-d4e3f2a1b0c9",
        time="2024-06-02T10:00:00Z",
        account=ACCOUNT,
        region="ap-southeast-2",
        repository="team__payments/card--gateway",
        repository_arn="arn:aws:ecr:ap-southeast-2:123456789012:repository/team__payments/card--gateway",
        tag="2024.06.02",
        digest="sha256:f6629e7eec57b307050e88dde9cadde0c56adf25e6f57f6fbf927e04535da70f",
        source_account=ACCOUNT,
        source_region="ap-southeast-1",
    ),
    "replicate_success_govcloud": ImageEvent(
        kind="replicate",
        event_id="a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
        time="2024-07-15T14:02:11Z",
        account=ACCOUNT,
        region="us-gov-east-1",
        repository="ledger",
        repository_arn="arn:aws-us-gov:ecr:us-gov-east-1:123456789012:repository/ledger",
        tag="r42",
        digest="sha256:fa6a9e0b889258f6439512e8f15587cfa967bc5ebbcdd1f07d618f1a09f5097c",
        source_account=ACCOUNT,
        source_region="us-gov-west-1",
    ),
    "replicate_failed": ReplicationFailure(
        event_id="e9f8d7c6-b5a4-4392-8170-6f5e4d3c2b1a",
        time="2024-05-08T21:02:40Z",
        account=ACCOUNT,
        region="us-east-1",
        repository="shop-api",
        repository_arn="arn:aws:ecr:us-east-1:123456789012:repository/shop-api",
        tag="v1.4.3",
        digest="sha256:139690e05a140e52f44b6442e41257edf88d5fcb24294dc23449303d7463a398",
        source_account=ACCOUNT,
        source_region="us-west-2",
    ),
    # --- ECR Image Action ---------------------------------------------------------------------------------------
    "push_success_tagged": ImageEvent(
        kind="push",
        event_id="13cde686-328b-6117-af20-0e5566167482",
        time="2019-11-16T01:54:34Z",
        account=ACCOUNT,
        region="us-west-2",
        repository="shop/api",
        repository_arn="arn:aws:ecr:us-west-2:123456789012:repository/shop/api",
        tag="latest",
        digest=SHOP_API_LATEST,
    ),
    "push_success_by_digest_untagged": ImageEvent(
        kind="push",
        event_id="5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d",
        time="2019-11-16T01:54:31Z",
        account=ACCOUNT,
        region="us-west-2",
        repository="shop/api",
        repository_arn="arn:aws:ecr:us-west-2:123456789012:repository/shop/api",
        tag=None,
        digest="sha256:94d8fee05db5b62414c112927053d47b00444d45853de305c2846ee44ccd85ca",
    ),
    "push_failed": IgnoredBecause("push result is 'FAILED', not SUCCESS"),
    "delete_success": IgnoredBecause("action-type 'DELETE' is not PUSH"),
    # --- CloudTrail -----------------------------------------------------------------------------------------------
    "cloudtrail_replicate_image_api_call": ImageEvent(
        kind="cloudtrail",
        event_id="6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        time="",  # neither the envelope nor this record has a time
        account=ACCOUNT,
        region="us-east-2",
        repository="testrepo",
        repository_arn="arn:aws:ecr:us-east-2:123456789012:repository/testrepo",
        tag=None,
        digest=None,
    ),
    "cloudtrail_replicate_image_service_event": ImageEvent(
        kind="cloudtrail",
        event_id="2f4e6a8c-0b1d-4e3f-a5c7-e9b1d3f5a7c9",
        time="2024-05-08T20:44:57Z",
        account=ACCOUNT,
        region="eu-west-1",
        repository="shop/worker",
        repository_arn="arn:aws:ecr:eu-west-1:123456789012:repository/shop/worker",
        tag=None,
        digest=None,
    ),
    "cloudtrail_put_image_api_call": ImageEvent(
        kind="cloudtrail",
        event_id="8c7b6a59-4837-4261-a5f4-e3d2c1b0a9f8",
        time="2024-05-08T20:40:15Z",
        account=ACCOUNT,
        region="us-west-2",
        repository="shop/api",
        repository_arn="arn:aws:ecr:us-west-2:123456789012:repository/shop/api",
        tag="v1.4.2",
        digest=None,  # only requestParameters.imageDigest is read; the image is resolved from ECR
    ),
    "cloudtrail_put_image_without_resources_or_envelope_account": ImageEvent(
        kind="cloudtrail",
        event_id="4e3d2c1b-0a9f-48e7-b6d5-c4b3a2918070",
        time="2024-05-08T20:41:00Z",
        account=ACCOUNT,  # from detail.recipientAccountId
        region="us-west-2",  # from detail.awsRegion
        repository="shop/web",
        repository_arn="arn:aws:ecr:us-west-2:123456789012:repository/shop/web",
        tag="release-7",
        digest=None,
    ),
    "cloudtrail_put_image_error": IgnoredBecause("PutImage failed with 'ImageAlreadyExistsException'"),
    "cloudtrail_other_event_name": IgnoredBecause("CloudTrail eventName 'BatchDeleteImage' is not handled"),
    # --- not ours -------------------------------------------------------------------------------------------------
    "other_source_ecs_deployment_state_change": IgnoredBecause("source 'aws.ecs' is not aws.ecr"),
    "other_source_s3_object_created": IgnoredBecause("source 'aws.s3' is not aws.ecr"),
    "other_source_scheduled_event": IgnoredBecause("source 'aws.events' is not aws.ecr"),
    "other_detail_type_ecr_image_scan": IgnoredBecause("detail-type 'ECR Image Scan' is not handled"),
    # --- malformed ------------------------------------------------------------------------------------------------
    "malformed_not_an_object": Rejected("event", "expected a JSON object, got list"),
    "malformed_missing_detail": Rejected("detail", "missing"),
    "malformed_detail_not_an_object": Rejected("detail", "expected an object, got str"),
    "malformed_missing_repository_name": Rejected("detail.repository-name", "missing"),
    "malformed_repository_name_a_number": Rejected("detail.repository-name", "got int"),
    "malformed_digest_aws_docs_sample_60_hex": Rejected("detail.image-digest", "64 hex digits"),
    "malformed_digest_trailing_newline": Rejected("detail.image-digest", "64 hex digits"),
    "malformed_invalid_region": Rejected("region", "not an AWS region"),
    "malformed_bad_account": Rejected("account", "not a 12-digit account id"),
    "malformed_replicate_bad_source_account": Rejected("detail.source-account", "not a 12-digit account id"),
    "malformed_replicate_result_neither_success_nor_failed": Rejected("detail.result", "'IN_PROGRESS'"),
    "malformed_cloudtrail_replicate_image_without_repository_arn": Rejected("detail.resources", "no ECR repository"),
    "malformed_cloudtrail_bad_repository_arn_second_resource": Rejected(
        "detail.resources[1].ARN", "not an ECR repository ARN"
    ),
    "malformed_tag_with_nul_byte": Rejected("detail.image-tag", "NUL"),
}


def test_every_expectation_has_a_sample() -> None:
    assert sorted(EXPECTED) == sample_names()


@pytest.mark.parametrize("name", sample_names())
def test_sample(name: str) -> None:
    if name not in EXPECTED:
        pytest.fail(f"tests/events/{name}.json has no expectation in EXPECTED")
    expected = EXPECTED[name]
    raw = load_event(name)
    untouched = copy.deepcopy(raw)
    if isinstance(expected, Rejected):
        with pytest.raises(EventError) as caught:
            parse_event(raw)
        assert caught.value.field == expected.field
        assert expected.problem in str(caught.value)
        if isinstance(raw, dict):
            assert caught.value.event_id == raw["id"]
            assert f"(event {raw['id']})" in str(caught.value)
    elif isinstance(expected, IgnoredBecause):
        result = parse_event(raw)
        assert isinstance(result, Ignored)
        assert expected.reason in result.reason
        assert result.event_id == raw["id"]
        assert result.detail_type == raw["detail-type"]
    else:
        assert parse_event(raw) == expected
    assert raw == untouched, "parse_event must not change its input"


def test_samples_use_only_valid_digests_where_they_should_parse() -> None:
    for name, expected in EXPECTED.items():
        if isinstance(expected, ImageEvent | ReplicationFailure) and expected.digest is not None:
            assert DIGEST_RE.match(expected.digest), name


# --- the fields, one rule at a time ------------------------------------------------------------------------------


def _push(**detail: object) -> dict[str, Any]:
    raw: dict[str, Any] = load_event("push_success_tagged")
    raw["detail"].update(detail)
    return raw


@pytest.mark.parametrize(
    "name", ["ab", "shop/api", "team__api", "my--app", "a.b_c-d/e0/f1", "docker-hub/library/alpine", "x" * 256]
)
def test_repository_names_ecr_accepts(name: str) -> None:
    result = parse_event(_push(**{"repository-name": name}))
    assert isinstance(result, ImageEvent)
    assert result.repository == name
    assert result.repository_arn == f"arn:aws:ecr:us-west-2:123456789012:repository/{name}"


@pytest.mark.parametrize(
    "name",
    ["Shop/api", "shop_", "/shop", "shop/", "shop//api", "a___b", "-a", "a.-b", "shop api", "shop/api\n", "x" * 257],
)
def test_repository_names_ecr_rejects(name: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(_push(**{"repository-name": name}))
    assert caught.value.field == "detail.repository-name"


@pytest.mark.parametrize("tag", ["latest", "v1.4.2", "release-7", "_build_99", "A" * 128])
def test_tags_accepted(tag: str) -> None:
    result = parse_event(_push(**{"image-tag": tag}))
    assert isinstance(result, ImageEvent)
    assert result.tag == tag


@pytest.mark.parametrize("tag", ["", "-v1", ".hidden", "v1\n", "v 1", "v1:2", "A" * 129, 7, ["v1"]])
def test_tags_rejected(tag: object) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(_push(**{"image-tag": tag}))
    assert caught.value.field == "detail.image-tag"


@pytest.mark.parametrize(
    "digest",
    [
        SHOP_API_LATEST + "\n",
        SHOP_API_LATEST.upper(),
        SHOP_API_LATEST[:-1],
        SHOP_API_LATEST + "0",
        SHOP_API_LATEST.replace("sha256:", "sha512:"),
        SHOP_API_LATEST.removeprefix("sha256:"),
        "",
        None,
        12,
    ],
)
def test_digests_rejected(digest: object) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(_push(**{"image-digest": digest}))
    assert caught.value.field == "detail.image-digest"


@pytest.mark.parametrize(
    ("field", "value"),
    [("account", "123456789012\n"), ("account", 123456789012), ("region", "us-east-1\n"), ("id", None), ("time", 0)],
)
def test_envelope_fields_rejected(field: str, value: object) -> None:
    raw = load_event("replicate_success_tagged")
    raw[field] = value
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    assert caught.value.field == field


def test_replication_without_source_fields_has_none() -> None:
    raw = load_event("replicate_success_tagged")
    del raw["detail"]["source-account"], raw["detail"]["source-region"]
    result = parse_event(raw)
    assert isinstance(result, ImageEvent)
    assert (result.source_account, result.source_region) == (None, None)


def test_replication_bad_source_region_rejected() -> None:
    raw = load_event("replicate_success_tagged")
    raw["detail"]["source-region"] = "west"
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    assert caught.value.field == "detail.source-region"


def test_replication_other_action_type_ignored() -> None:
    raw = load_event("replicate_success_tagged")
    raw["detail"]["action-type"] = "PULL_THROUGH"
    result = parse_event(raw)
    assert isinstance(result, Ignored)
    assert "is not REPLICATE" in result.reason


def test_cloudtrail_takes_the_repository_arn_among_other_resources() -> None:
    raw = load_event("cloudtrail_replicate_image_api_call")
    kms = "arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    raw["detail"]["resources"].insert(0, {"ARN": kms, "accountId": ACCOUNT})
    result = parse_event(raw)
    assert isinstance(result, ImageEvent)
    assert result.repository_arn == "arn:aws:ecr:us-east-2:123456789012:repository/testrepo"


def test_cloudtrail_digest_from_request_parameters_is_validated() -> None:
    raw = load_event("cloudtrail_put_image_api_call")
    raw["detail"]["requestParameters"]["imageDigest"] = SHOP_API_LATEST
    result = parse_event(raw)
    assert isinstance(result, ImageEvent)
    assert result.digest == SHOP_API_LATEST
    raw["detail"]["requestParameters"]["imageDigest"] = "sha256:abc"
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    assert caught.value.field == "detail.requestParameters.imageDigest"


def test_cloudtrail_put_image_repository_name_mistyped_is_named() -> None:
    raw = load_event("cloudtrail_put_image_without_resources_or_envelope_account")
    raw["detail"]["requestParameters"]["repositoryName"] = ["shop/web"]
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    assert caught.value.field == "detail.requestParameters.repositoryName"


def test_cloudtrail_put_image_without_any_account_is_rejected() -> None:
    raw = load_event("cloudtrail_put_image_without_resources_or_envelope_account")
    del raw["detail"]["recipientAccountId"]
    with pytest.raises(EventError) as caught:
        parse_event(raw)
    assert caught.value.field == "detail.recipientAccountId"


# --- the ARN and host helpers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "arn", "host"),
    [
        (
            "us-east-1",
            "arn:aws:ecr:us-east-1:123456789012:repository/shop/api",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
        ),
        (
            "cn-north-1",
            "arn:aws-cn:ecr:cn-north-1:123456789012:repository/shop/api",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
        ),
        (
            "us-gov-west-1",
            "arn:aws-us-gov:ecr:us-gov-west-1:123456789012:repository/shop/api",
            "123456789012.dkr.ecr.us-gov-west-1.amazonaws.com",
        ),
    ],
)
def test_arn_and_registry_host_per_partition(region: str, arn: str, host: str) -> None:
    assert repository_arn(ACCOUNT, region, "shop/api") == arn
    assert parse_repository_arn(arn, "f") == (region, ACCOUNT, "shop/api")
    assert registry_host(ACCOUNT, region) == host


def test_image_event_registry() -> None:
    result = parse_event(load_event("replicate_success_repository_with_slashes"))
    assert isinstance(result, ImageEvent)
    assert result.registry == "210987654321.dkr.ecr.eu-central-1.amazonaws.com"


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:ecr:us-east-1:123456789012:repository/shop/api\n",
        "arn:aws:ecr:us-east-1:123456789012:repository/Shop",
        "arn:aws:ecr:us-east-1:123456789012:repository/",
        "arn:aws:ecr:us-east-1:12345678901:repository/shop",
        "arn:aws:ecr:123:123456789012:repository/shop",
        "arn:aws:ecs:us-east-1:123456789012:repository/shop",
        "arn:aws:ecr:us-east-1:123456789012:repository/" + "a" * 257,
        "",
    ],
)
def test_parse_repository_arn_rejects(arn: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_repository_arn(arn, "detail.resources[0].ARN")
    assert caught.value.field == "detail.resources[0].ARN"


# --- nothing but EventError, whatever comes in -------------------------------------------------------------------

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
    yield "repository of many segments", _push(**{"repository-name": "a/" * 200_000 + "!"})
    yield "repository of many separators", _push(**{"repository-name": "a-" * 200_000 + "!"})


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
