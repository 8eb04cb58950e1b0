"""Intake: every EventBridge event shape that means "an image is here", normalised into one value.

Accepted (see README "Events"):
  * ``ECR Replication Action`` (REPLICATE): SUCCESS -> ImageEvent, FAILED -> ReplicationFailure (an alert).
  * ``ECR Image Action`` (PUSH, SUCCESS) -> ImageEvent; DELETE and failed pushes -> Ignored.
  * CloudTrail ``ReplicateImage`` / ``PutImage`` as "AWS API Call via CloudTrail" or
    "AWS Service Event via CloudTrail" -> ImageEvent with the repository only (tag/digest resolved from ECR).
Anything else -> Ignored with the reason. A malformed event of a supported kind raises EventError.
https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from ecr_autodeploy.core.errors import EventError
from ecr_autodeploy.core.lazy_re import Lazy
from ecr_autodeploy.core.values import frozen

ECR_SOURCE = "aws.ecr"
REPLICATION_ACTION = "ECR Replication Action"
IMAGE_ACTION = "ECR Image Action"
CLOUDTRAIL_API_CALL = "AWS API Call via CloudTrail"
CLOUDTRAIL_SERVICE_EVENT = "AWS Service Event via CloudTrail"
CLOUDTRAIL_DETAIL_TYPES = (CLOUDTRAIL_API_CALL, CLOUDTRAIL_SERVICE_EVENT)
CLOUDTRAIL_EVENT_NAMES = ("ReplicateImage", "PutImage")

# Anchored with \Z, not $: "$" also matches before a trailing newline, which would let "sha256:...\n" through.
DIGEST_RE = Lazy(r"^sha256:[0-9a-f]{64}\Z")
_ACCOUNT_RE = Lazy(r"^\d{12}\Z")
# Region names as botocore takes them: at most 63 characters.
REGION_RE = Lazy(r"^(?=.{1,63}\Z)[a-z]{2}(-[a-z]+)+-\d+\Z")
# Repository names: ECR's current API pattern (botocore's ecr model), 2 to 256 characters; separators within a
# component are ".", "_", "__" or a run of "-", so "team__api" and "my--app" are valid names.
_REPOSITORY_RE = Lazy(r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*\Z")
_REPOSITORY_MAX = 256
# ECR repository names are 2 to 256 characters.
REPOSITORY_NAME_RE = Lazy(rf"^(?=.{{2,{_REPOSITORY_MAX}}}\Z){_REPOSITORY_RE.pattern[1:]}")
_REPOSITORY_ARN_RE = Lazy(r"^arn:(aws[a-z-]*):ecr:([a-z0-9-]+):(\d{12}):repository/(.+)\Z")
# Image tags: ECR takes up to 300 characters (Docker's own limit is 128).
_TAG_RE = Lazy(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,299}\Z")
_PARTITION_PREFIXES = (
    ("cn-", "aws-cn"),
    ("us-gov-", "aws-us-gov"),
    ("us-isob-", "aws-iso-b"),
    ("us-isof-", "aws-iso-f"),
    ("eu-isoe-", "aws-iso-e"),
    ("us-iso-", "aws-iso"),
    ("eusc-", "aws-eusc"),
)

# approval: `ecr-autodeploy approve`; promotion, wave: started by a completed rollout (engine/chain.py).
EventKind = Literal["replicate", "push", "cloudtrail", "manual", "reconcile", "approval", "promotion", "wave"]


@frozen
class ImageEvent:
    """An image arrived in `account`/`region`; tag and digest are None when the event does not carry them."""

    kind: EventKind
    event_id: str
    time: str
    account: str
    region: str
    repository: str
    repository_arn: str
    tag: str | None
    digest: str | None
    source_account: str | None = None
    source_region: str | None = None

    @property
    def registry(self) -> str:
        """The registry host of the repository, e.g. ``123456789012.dkr.ecr.us-east-1.amazonaws.com``."""
        return registry_host(self.account, self.region)


@frozen
class ReplicationFailure:
    """ECR reported a FAILED replication into this account/region: an alert, never a deployment."""

    event_id: str
    time: str
    account: str
    region: str
    repository: str
    repository_arn: str
    tag: str | None
    digest: str | None
    source_account: str | None
    source_region: str | None


@frozen
class Ignored:
    """An event this tool does not act on, with the reason."""

    event_id: str | None
    detail_type: str | None
    reason: str


ParsedEvent = ImageEvent | ReplicationFailure | Ignored


def registry_host(account: str, region: str) -> str:
    """Return the ECR registry host name of an account and region."""
    suffix = ".amazonaws.com.cn" if region.startswith("cn-") else ".amazonaws.com"
    return f"{account}.dkr.ecr.{region}{suffix}"


def repository_arn(account: str, region: str, repository: str) -> str:
    """Return the ARN of an ECR repository."""
    return f"arn:{partition_of(region)}:ecr:{region}:{account}:repository/{repository}"


def partition_of(region: str) -> str:
    """Return the AWS partition of a region (aws, aws-cn, aws-us-gov, the ISO partitions)."""
    for prefix, partition in _PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"


def parse_repository_arn(arn: str, field: str) -> tuple[str, str, str]:
    """Return (region, account, repository) of an ECR repository ARN; raise EventError naming `field`.

    The partition must be the one its region is in: ``arn:aws-cn:...:us-east-1`` or ``arn:awsfoo:`` is no ARN
    AWS issues, so it is refused rather than trusted.
    """
    match = _REPOSITORY_ARN_RE.match(arn)
    if match is None or not REGION_RE.match(match.group(2)) or not REPOSITORY_NAME_RE.match(match.group(4)):
        raise EventError(field, f"not an ECR repository ARN: {_clip(arn)!r}")
    partition, region = match.group(1), match.group(2)
    if partition != partition_of(region):
        raise EventError(
            field, f"partition {partition!r} of {_clip(arn)!r} is not {region}'s partition ({partition_of(region)})"
        )
    return region, match.group(3), match.group(4)


def parse_event(raw: object) -> ParsedEvent:
    """Return the normalised event; raise EventError when a supported kind is malformed."""
    if not isinstance(raw, Mapping):
        raise EventError("event", f"expected a JSON object, got {type(raw).__name__}")
    source = raw.get("source")
    detail_type = raw.get("detail-type")
    event_id = raw.get("id") if isinstance(raw.get("id"), str) else None
    if source != ECR_SOURCE:
        return Ignored(event_id, _str_or_none(detail_type), f"source {_clip(str(source))!r} is not aws.ecr")
    if detail_type == REPLICATION_ACTION:
        return _parse_replication(raw)
    if detail_type == IMAGE_ACTION:
        return _parse_image_action(raw)
    if detail_type in CLOUDTRAIL_DETAIL_TYPES:
        return _parse_cloudtrail(raw, str(detail_type))
    return Ignored(event_id, _str_or_none(detail_type), f"detail-type {_clip(str(detail_type))!r} is not handled")


class EventReader:
    """Typed field access that names the offending field instead of raising KeyError/TypeError."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self.raw = raw
        eid = raw.get("id")
        self.event_id = eid if isinstance(eid, str) else None

    def fail(self, field: str, problem: str) -> EventError:
        return EventError(field, problem, event_id=self.event_id)

    def obj(self, parent: Mapping[str, object], key: str, path: str) -> Mapping[str, object]:
        value = parent.get(key)
        if not isinstance(value, Mapping):
            raise self.fail(path, _expected("an object", value))
        return value

    def text(self, parent: Mapping[str, object], key: str, path: str) -> str:
        value = parent.get(key)
        if not isinstance(value, str) or not value:
            raise self.fail(path, _expected("a non-empty string", value))
        if "\x00" in value:
            raise self.fail(path, "contains a NUL character")
        return value

    def optional_text(self, parent: Mapping[str, object], key: str, path: str) -> str | None:
        if parent.get(key) is None:
            return None
        return self.text(parent, key, path)

    def matching(self, parent: Mapping[str, object], key: str, path: str, form: Lazy, what: str) -> str:
        value = self.text(parent, key, path)
        if not form.match(value):
            raise self.fail(path, f"not {what}: {_clip(value)!r}")
        return value

    def optional_matching(self, parent: Mapping[str, object], key: str, path: str, form: Lazy, what: str) -> str | None:
        return None if parent.get(key) is None else self.matching(parent, key, path, form, what)

    def account(self, parent: Mapping[str, object], key: str, path: str) -> str:
        return self.matching(parent, key, path, _ACCOUNT_RE, "a 12-digit account id")

    def optional_account(self, parent: Mapping[str, object], key: str, path: str) -> str | None:
        return self.optional_matching(parent, key, path, _ACCOUNT_RE, "a 12-digit account id")

    def region(self, parent: Mapping[str, object], key: str, path: str) -> str:
        return self.matching(parent, key, path, REGION_RE, "an AWS region")

    def optional_region(self, parent: Mapping[str, object], key: str, path: str) -> str | None:
        return self.optional_matching(parent, key, path, REGION_RE, "an AWS region")

    def repository(self, parent: Mapping[str, object], key: str, path: str) -> str:
        return self.matching(parent, key, path, REPOSITORY_NAME_RE, "an ECR repository name")

    def digest(self, parent: Mapping[str, object], key: str, path: str) -> str:
        return self.matching(parent, key, path, DIGEST_RE, "a digest (sha256: and 64 hex digits)")

    def tag(self, parent: Mapping[str, object], key: str, path: str) -> str | None:
        return self.optional_matching(parent, key, path, _TAG_RE, "an image tag")

    def envelope(self) -> tuple[str, str, str, str]:
        """Return (event id, time, account, region) of the EventBridge envelope."""
        return (
            self.text(self.raw, "id", "id"),
            self.text(self.raw, "time", "time"),
            self.account(self.raw, "account", "account"),
            self.region(self.raw, "region", "region"),
        )


def _parse_replication(raw: Mapping[str, object]) -> ParsedEvent:
    r = EventReader(raw)
    detail = r.obj(raw, "detail", "detail")
    action = r.text(detail, "action-type", "detail.action-type")
    if action != "REPLICATE":
        return Ignored(r.event_id, REPLICATION_ACTION, f"action-type {_clip(action)!r} is not REPLICATE")
    event_id, time, account, region = r.envelope()
    result = r.text(detail, "result", "detail.result")
    repository = r.repository(detail, "repository-name", "detail.repository-name")
    tag = r.tag(detail, "image-tag", "detail.image-tag")
    source_account = r.optional_account(detail, "source-account", "detail.source-account")
    source_region = r.optional_region(detail, "source-region", "detail.source-region")
    arn = repository_arn(account, region, repository)
    if result == "FAILED":
        digest = r.optional_text(detail, "image-digest", "detail.image-digest")
        return ReplicationFailure(
            event_id, time, account, region, repository, arn, tag, digest, source_account, source_region
        )
    if result != "SUCCESS":
        raise r.fail("detail.result", f"expected SUCCESS or FAILED, got {_clip(result)!r}")
    digest = r.digest(detail, "image-digest", "detail.image-digest")
    return ImageEvent(
        "replicate", event_id, time, account, region, repository, arn, tag, digest, source_account, source_region
    )


def _parse_image_action(raw: Mapping[str, object]) -> ParsedEvent:
    r = EventReader(raw)
    detail = r.obj(raw, "detail", "detail")
    action = r.text(detail, "action-type", "detail.action-type")
    result = r.text(detail, "result", "detail.result")
    if action != "PUSH":
        return Ignored(r.event_id, IMAGE_ACTION, f"action-type {_clip(action)!r} is not PUSH")
    if result != "SUCCESS":
        return Ignored(r.event_id, IMAGE_ACTION, f"push result is {_clip(result)!r}, not SUCCESS")
    event_id, time, account, region = r.envelope()
    repository = r.repository(detail, "repository-name", "detail.repository-name")
    digest = r.digest(detail, "image-digest", "detail.image-digest")
    tag = r.tag(detail, "image-tag", "detail.image-tag")
    arn = repository_arn(account, region, repository)
    return ImageEvent("push", event_id, time, account, region, repository, arn, tag, digest)


def _parse_cloudtrail(raw: Mapping[str, object], detail_type: str) -> ParsedEvent:
    r = EventReader(raw)
    detail = r.obj(raw, "detail", "detail")
    name = detail.get("eventName")
    if name not in CLOUDTRAIL_EVENT_NAMES:
        return Ignored(r.event_id, detail_type, f"CloudTrail eventName {_clip(str(name))!r} is not handled")
    if detail.get("errorCode") is not None:
        return Ignored(r.event_id, detail_type, f"{name} failed with {_clip(str(detail.get('errorCode')))!r}")
    event_id = r.text(raw, "id", "id")
    # The CloudTrail envelope may lack "time" and "account"; the record carries its own.
    time = r.optional_text(raw, "time", "time") or r.optional_text(detail, "eventTime", "detail.eventTime") or ""
    resources = detail.get("resources")
    arns: list[tuple[str, str]] = []  # (field path, ARN), so an error names the resource it came from
    if isinstance(resources, list):
        for i, item in enumerate(resources):
            if not isinstance(item, Mapping):
                raise r.fail(f"detail.resources[{i}]", _expected("an object", item))
            item_arn = item.get("ARN")
            if isinstance(item_arn, str) and ":repository/" in item_arn:
                arns.append((f"detail.resources[{i}].ARN", item_arn))
    elif resources is not None:
        raise r.fail("detail.resources", _expected("a list", resources))
    request = detail.get("requestParameters")
    if not arns and isinstance(request, Mapping) and request.get("repositoryName") is not None:
        # PutImage records carry the repository in requestParameters rather than in resources.
        if raw.get("account") is not None:
            account = r.account(raw, "account", "account")
        else:
            account = r.account(detail, "recipientAccountId", "detail.recipientAccountId")
        region = r.region(detail, "awsRegion", "detail.awsRegion")
        repository = r.repository(request, "repositoryName", "detail.requestParameters.repositoryName")
        arns.append(("detail.requestParameters.repositoryName", repository_arn(account, region, repository)))
    if not arns:
        raise r.fail("detail.resources", "no ECR repository ARN in resources or requestParameters")
    arn_field, arn = arns[0]
    try:
        region, account, repository = parse_repository_arn(arn, arn_field)
    except EventError as err:
        raise r.fail(err.field, err.problem) from None  # the same error, with the event id
    # EventBridge says where the event was delivered; a record naming another account's or region's repository
    # is not one this function may act on (trust what AWS says, not what the record claims).
    for what, claimed, key in (("account", account, "account"), ("region", region, "region")):
        delivered = raw.get(key)
        if isinstance(delivered, str) and delivered != claimed:
            return Ignored(
                event_id,
                detail_type,
                f"refused: {arn_field} {_clip(arn)!r} is in {what} {claimed}, the event was delivered in {delivered}",
            )
    tag: str | None = None
    digest: str | None = None
    if isinstance(request, Mapping):
        tag = r.tag(request, "imageTag", "detail.requestParameters.imageTag")
        if request.get("imageDigest") is not None:
            digest = r.digest(request, "imageDigest", "detail.requestParameters.imageDigest")
    return ImageEvent("cloudtrail", event_id, time, account, region, repository, arn, tag, digest)


def _expected(what: str, value: object) -> str:
    if value is None:
        return f"missing (expected {what})"
    return f"expected {what}, got {type(value).__name__}"


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _clip(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "..."
