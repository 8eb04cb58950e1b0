"""Intake, field by field: repository names, tags, digests, envelope fields, CloudTrail resources, ARN helpers."""

from __future__ import annotations

import pytest

from ecr_autodeploy.core.errors import EventError
from ecr_autodeploy.core.events import (
    Ignored,
    ImageEvent,
    parse_event,
    parse_repository_arn,
    registry_host,
    repository_arn,
)
from tests.samples import load_event
from tests.unit.event_expectations import ACCOUNT, SHOP_API_LATEST, push_event


@pytest.mark.parametrize(
    "name", ["ab", "shop/api", "team__api", "my--app", "a.b_c-d/e0/f1", "docker-hub/library/alpine", "x" * 256]
)
def test_repository_names_ecr_accepts(name: str) -> None:
    result = parse_event(push_event(**{"repository-name": name}))
    assert isinstance(result, ImageEvent)
    assert result.repository == name
    assert result.repository_arn == f"arn:aws:ecr:us-west-2:123456789012:repository/{name}"


@pytest.mark.parametrize(
    "name",
    ["Shop/api", "shop_", "/shop", "shop/", "shop//api", "a___b", "-a", "a.-b", "shop api", "shop/api\n", "x" * 257],
)
def test_repository_names_ecr_rejects(name: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(push_event(**{"repository-name": name}))
    assert caught.value.field == "detail.repository-name"


@pytest.mark.parametrize("tag", ["latest", "v1.4.2", "release-7", "_build_99", "A" * 128, "A" * 300])
def test_tags_accepted(tag: str) -> None:
    result = parse_event(push_event(**{"image-tag": tag}))
    assert isinstance(result, ImageEvent)
    assert result.tag == tag


@pytest.mark.parametrize("tag", ["", "-v1", ".hidden", "v1\n", "v 1", "v1:2", "A" * 301, 7, ["v1"]])
def test_tags_rejected(tag: object) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(push_event(**{"image-tag": tag}))
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
        parse_event(push_event(**{"image-digest": digest}))
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
