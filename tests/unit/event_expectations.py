"""What each sample in tests/events must give: its exact value, Ignored for a reason, or rejected naming a field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecr_autodeploy.core.events import ImageEvent, ReplicationFailure
from tests.samples import load_event


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


def push_event(**detail: object) -> dict[str, Any]:
    """Return the tagged push sample with `detail` fields replaced."""
    raw: dict[str, Any] = load_event("push_success_tagged")
    raw["detail"].update(detail)
    return raw
