"""Hypothesis strategies for every event shape the function accepts, and for values that break each checked field.

A `Shape` builds a well-formed event and lists the fields intake checks, each with a `Kind` that says which
values break it and what breaking it must lead to: an EventError naming the field, or (for fields that only
route the event) an ignored outcome or an EventError, never a deployment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ecr_autodeploy.core.events import registry_host

ACCOUNT = "123456789012"
DELETE = object()  # a mutation value that removes the key

# ---- values ----------------------------------------------------------------------------------------------------

HEX = "0123456789abcdef"
digests = st.text(HEX, min_size=64, max_size=64).map(lambda h: f"sha256:{h}")
tags = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,40}", fullmatch=True)
accounts = st.from_regex(r"[0-9]{12}", fullmatch=True)
regions = st.sampled_from(["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2", "us-gov-west-1", "cn-north-1"])
repository_names = st.from_regex(
    r"[a-z0-9]{1,8}(?:[._-][a-z0-9]{1,8}){0,2}(?:/[a-z0-9]{1,8}(?:-[a-z0-9]{1,8})?){0,3}", fullmatch=True
)
event_ids = st.uuids().map(str)

WRONG_TYPES = st.one_of(
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)
# EventBridge caps an event at 256 KB; these stay within it.
HUGE = st.integers(257, 200_000).flatmap(
    lambda n: st.sampled_from(
        [
            "a" * n,
            "é" * (n // 2),
            "a-" * (n // 2),
            "a_" * (n // 2) + "_",
            f"sha256:{'a' * n}",
            "1" * n,
        ]
    )
)
# Every patterned field is ASCII only, so a non-ASCII character makes any of them invalid by construction.
NON_ASCII = st.tuples(st.text(max_size=30), st.characters(min_codepoint=128), st.text(max_size=30)).map("".join)
SURROGATES = st.sampled_from(["\ud800", "shop/\udfff", "sha256:\ud83d"])


def with_nul(valid: str) -> st.SearchStrategy[str]:
    """Return the valid value with a NUL byte inserted somewhere."""
    return st.integers(0, len(valid)).map(lambda i: valid[:i] + "\x00" + valid[i:])


@dataclass(frozen=True)
class Kind:
    """How a checked field breaks: `bad(valid)` gives breaking values; `routes` when breaking may just ignore it."""

    name: str
    bad: Callable[[Any], st.SearchStrategy[Any]]
    routes: bool = False


def _required_text(valid: Any) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(DELETE), st.none(), WRONG_TYPES, st.just(""), with_nul(str(valid)))


def _optional_text(valid: Any) -> st.SearchStrategy[Any]:
    return st.one_of(WRONG_TYPES, st.just(""), with_nul(str(valid)))


def _patterned(*wrong: str, required: bool = True) -> Callable[[Any], st.SearchStrategy[Any]]:
    def bad(valid: Any) -> st.SearchStrategy[Any]:
        base = _required_text(valid) if required else _optional_text(valid)
        return st.one_of(base, HUGE, NON_ASCII, SURROGATES, st.sampled_from(wrong))

    return bad


TEXT = Kind("text", _required_text)
# ECS deployment events are checked for present, non-empty strings only (a NUL byte there is not refused).
PRESENT_TEXT = Kind("present text", lambda _: st.one_of(st.just(DELETE), st.none(), WRONG_TYPES, st.just("")))
OPTIONAL_TEXT = Kind("optional text", _optional_text)
ACCOUNT_ID = Kind(
    "account", _patterned("12345678901", "1234567890123", "12345678901a", " 123456789012", "123456789012\n")
)
OPTIONAL_ACCOUNT = Kind("optional account", _patterned("12345678901", "abcdefghijkl", required=False))
REGION = Kind("region", _patterned("us-east", "US-EAST-1", "us-east-1\n", "useast1", "us_east_1", "-1"))
OPTIONAL_REGION = Kind("optional region", _patterned("us-east", "EU-WEST-1", required=False))
REPOSITORY = Kind(
    "repository",
    _patterned("Shop/api", "/shop", "shop/", "shop//api", "shop/api\n", "a" * 257, "shop api", "_shop"),
)
DIGEST = Kind(
    "digest",
    _patterned(
        "sha256:" + "a" * 63,
        "sha256:" + "A" * 64,
        "sha256:" + "a" * 64 + "\n",
        "sha512:" + "a" * 64,
        "sha256:" + "g" * 64,
        "a" * 64,
        "latest",
    ),
)
OPTIONAL_DIGEST = Kind("optional digest", _patterned("sha256:abc", "sha256:" + "a" * 65, required=False))
OPTIONAL_TAG = Kind("optional tag", _patterned(".v1", "-v1", "v1 ", "v/1", "x" * 129, "v1\n", "v:1", required=False))
OBJECT = Kind(
    "object",
    lambda _: st.one_of(
        st.just(DELETE), st.none(), st.text(max_size=10), st.integers(), st.lists(st.integers(), max_size=2)
    ),
)
ROUTING = Kind(
    "routing", lambda _: st.one_of(st.just(DELETE), st.none(), WRONG_TYPES, st.text(max_size=30), HUGE), routes=True
)
# Any errorCode at all means the call failed: the event is ignored.
ERROR_CODE = Kind("error code", lambda _: st.one_of(WRONG_TYPES, st.text(max_size=30)), routes=True)
RESOURCES = Kind(
    "resources",
    lambda _: st.one_of(
        st.just(DELETE),
        st.none(),
        st.just([]),
        st.text(max_size=10),
        st.integers(),
        st.lists(WRONG_TYPES, min_size=1, max_size=2),
    ),
)
REPOSITORY_ARN = Kind(
    "repository ARN",
    lambda valid: st.one_of(
        st.just(DELETE),
        WRONG_TYPES,
        with_nul(str(valid)),
        st.sampled_from(
            [
                "arn:aws:ecr:us-east-1:123456789012:repository/",
                "arn:aws:ecr:us-east-1:12345678901:repository/shop/api",
                "arn:aws:ecr:US-EAST-1:123456789012:repository/shop/api",
                "arn:aws:ecs:us-east-1:123456789012:repository/shop/api",
                "arn:aws:ecr:us-east-1:123456789012:repository/Shop/Api",
                "arn:aws:ecr:us-east-1:123456789012:repository/" + "a" * 300,
                "arn:aws:ecr:us-east-1:123456789012:repo/shop/api",
            ]
        ),
        NON_ASCII.map(lambda s: f"arn:aws:ecr:us-east-1:123456789012:repository/{s}"),
        HUGE,
    ),
)


@dataclass(frozen=True)
class Field:
    """A checked field: its path in the event, the dotted name EventError uses, and how it breaks."""

    path: tuple[str | int, ...]
    kind: Kind
    names: tuple[str, ...] = ()  # other field names an error may rightly give (an ARN that is no ARN at all)

    @property
    def dotted(self) -> str:
        out = ""
        for step in self.path:
            out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else step)
        return out


@dataclass(frozen=True)
class Image:
    """What a well-formed event is about."""

    repository: str
    digest: str
    tag: str | None
    account: str = ACCOUNT
    region: str = "us-east-1"
    event_id: str = "00000000-0000-4000-8000-000000000000"


@dataclass(frozen=True)
class Shape:
    """One accepted event shape: how to build it, whether it can deploy, and the fields intake checks."""

    name: str
    build: Callable[[Image], dict[str, Any]]
    deploys: bool
    fields: tuple[Field, ...]


def _envelope(image: Image, detail_type: str, source: str = "aws.ecr") -> dict[str, Any]:
    return {
        "version": "0",
        "id": image.event_id,
        "detail-type": detail_type,
        "source": source,
        "account": image.account,
        "time": "2026-11-26T10:00:00Z",
        "region": image.region,
        "resources": [],
    }


def replicate(image: Image, result: str = "SUCCESS") -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result": result,
        "repository-name": image.repository,
        "image-digest": image.digest,
        "source-account": image.account,
        "action-type": "REPLICATE",
        "source-region": "us-west-2",
    }
    if image.tag is not None:
        detail["image-tag"] = image.tag
    arn = f"arn:aws:ecr:{image.region}:{image.account}:repository/{image.repository}"
    return {**_envelope(image, "ECR Replication Action"), "resources": [arn], "detail": detail}


def push(image: Image, action: str = "PUSH", result: str = "SUCCESS") -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result": result,
        "repository-name": image.repository,
        "image-digest": image.digest,
        "action-type": action,
    }
    if image.tag is not None:
        detail["image-tag"] = image.tag
    return {**_envelope(image, "ECR Image Action"), "detail": detail}


def cloudtrail_replicate(image: Image, detail_type: str = "AWS Service Event via CloudTrail") -> dict[str, Any]:
    event = _envelope(image, detail_type)
    event["detail"] = {
        "eventVersion": "1.08",
        "eventSource": "ecr.amazonaws.com",
        "eventName": "ReplicateImage",
        "awsRegion": image.region,
        "requestParameters": None,
        "responseElements": None,
        "eventType": "AwsServiceEvent",
        "resources": [
            {"ARN": f"arn:aws:ecr:{image.region}:{image.account}:repository/{image.repository}", "accountId": ACCOUNT}
        ],
    }
    return event


def cloudtrail_put_image(image: Image) -> dict[str, Any]:
    event = _envelope(image, "AWS API Call via CloudTrail")
    del event["account"]  # CloudTrail envelopes may lack it; the record's recipientAccountId is used instead
    request: dict[str, Any] = {"repositoryName": image.repository, "imageDigest": image.digest}
    if image.tag is not None:
        request["imageTag"] = image.tag
    event["detail"] = {
        "eventVersion": "1.08",
        "eventSource": "ecr.amazonaws.com",
        "eventName": "PutImage",
        "awsRegion": image.region,
        "recipientAccountId": image.account,
        "requestParameters": request,
        "responseElements": None,
        "eventType": "AwsApiCall",
    }
    return event


def ecs_deployment(image: Image, name: str = "SERVICE_DEPLOYMENT_COMPLETED") -> dict[str, Any]:
    event = _envelope(image, "ECS Deployment State Change", source="aws.ecs")
    event["resources"] = [f"arn:aws:ecs:{image.region}:{image.account}:service/shop/api"]
    event["detail"] = {
        "eventType": "INFO",
        "eventName": name,
        "deploymentId": "ecs-svc/4231788471093212981",
        "updatedAt": "2026-11-26T10:00:00.000Z",
        "reason": "ECS deployment ecs-svc/4231788471093212981 completed.",
    }
    return event


def reconcile(_: Image) -> dict[str, Any]:
    return {"source": "ecr-autodeploy", "detail-type": "Reconcile", "detail": {}}


ENVELOPE = (
    Field(("id",), TEXT),
    Field(("time",), TEXT),
    Field(("account",), ACCOUNT_ID),
    Field(("region",), REGION),
    Field(("source",), ROUTING),
    Field(("detail-type",), ROUTING),
    Field(("detail",), OBJECT),
)
SHAPES = (
    Shape(
        "replicate",
        replicate,
        deploys=True,
        fields=(
            *ENVELOPE,
            Field(("detail", "action-type"), ROUTING),
            Field(("detail", "result"), Kind("result", _patterned("PENDING", "success", "SUCCESS "))),
            Field(("detail", "repository-name"), REPOSITORY),
            Field(("detail", "image-digest"), DIGEST),
            Field(("detail", "image-tag"), OPTIONAL_TAG),
            Field(("detail", "source-account"), OPTIONAL_ACCOUNT),
            Field(("detail", "source-region"), OPTIONAL_REGION),
        ),
    ),
    Shape(
        "push",
        push,
        deploys=True,
        fields=(
            *ENVELOPE,
            Field(("detail", "action-type"), ROUTING),
            Field(("detail", "result"), ROUTING),
            Field(("detail", "repository-name"), REPOSITORY),
            Field(("detail", "image-digest"), DIGEST),
            Field(("detail", "image-tag"), OPTIONAL_TAG),
        ),
    ),
    Shape(
        "cloudtrail-replicate",
        cloudtrail_replicate,
        deploys=True,
        fields=(
            Field(("id",), TEXT),
            Field(("time",), OPTIONAL_TEXT),
            Field(("source",), ROUTING),
            Field(("detail-type",), ROUTING),
            Field(("detail",), OBJECT),
            Field(("detail", "eventName"), ROUTING),
            Field(("detail", "errorCode"), ERROR_CODE),
            Field(("detail", "resources"), RESOURCES, names=("detail.resources[0]", "detail.resources[1]")),
            Field(("detail", "resources", 0), OBJECT, names=("detail.resources",)),
            Field(("detail", "resources", 0, "ARN"), REPOSITORY_ARN, names=("detail.resources",)),
        ),
    ),
    Shape(
        "cloudtrail-put-image",
        cloudtrail_put_image,
        deploys=True,
        fields=(
            Field(("id",), TEXT),
            Field(("account",), OPTIONAL_ACCOUNT),
            Field(("source",), ROUTING),
            Field(("detail-type",), ROUTING),
            Field(("detail",), OBJECT),
            Field(("detail", "eventName"), ROUTING),
            Field(("detail", "awsRegion"), REGION),
            Field(("detail", "recipientAccountId"), ACCOUNT_ID, names=("account",)),
            Field(("detail", "requestParameters"), OBJECT, names=("detail.resources",)),
            Field(("detail", "requestParameters", "repositoryName"), REPOSITORY, names=("detail.resources",)),
            Field(("detail", "requestParameters", "imageTag"), OPTIONAL_TAG),
            Field(("detail", "requestParameters", "imageDigest"), OPTIONAL_DIGEST),
        ),
    ),
    Shape(
        "ecs-deployment",
        ecs_deployment,
        deploys=False,
        fields=(
            Field(("id",), PRESENT_TEXT),
            Field(("source",), ROUTING),
            Field(("detail-type",), ROUTING),
            Field(("detail",), OBJECT),
            Field(("detail", "eventName"), ROUTING),
            Field(("detail", "deploymentId"), PRESENT_TEXT),
            Field(("resources",), RESOURCES, names=("resources[0]",)),
            Field(("resources", 0), REPOSITORY_ARN, names=("resources",)),
        ),
    ),
    Shape(
        "reconcile", reconcile, deploys=False, fields=(Field(("source",), ROUTING), Field(("detail-type",), ROUTING))
    ),
)
DEPLOYING = tuple(s for s in SHAPES if s.deploys)


def mutated(event: Any, path: tuple[str | int, ...], value: Any) -> Any:
    """Return a deep copy of `event` with the node at `path` replaced by `value` (or removed, for DELETE)."""
    copy: Any = json.loads(json.dumps(event))
    node = copy
    for step in path[:-1]:
        node = node[step]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return copy


@st.composite
def images(draw: st.DrawFn, repository: st.SearchStrategy[str] = repository_names) -> Image:
    """Draw what a well-formed event is about, sometimes something the test world holds."""
    return Image(
        repository=draw(repository),
        digest=draw(digests),
        tag=draw(st.none() | tags),
        account=draw(st.just(ACCOUNT) | accounts),
        region=draw(st.just("us-east-1") | regions),
        event_id=draw(event_ids),
    )


@st.composite
def well_formed(draw: st.DrawFn) -> dict[str, Any]:
    """Draw a well-formed event of any accepted shape, including the non-deploying variants of each."""
    image = draw(images())
    builders: list[Callable[[], dict[str, Any]]] = [
        lambda: replicate(image),
        lambda: replicate(image, "FAILED"),
        lambda: push(image),
        lambda: push(image, "DELETE"),
        lambda: push(image, "PUSH", "FAILED"),
        lambda: cloudtrail_replicate(image),
        lambda: cloudtrail_replicate(image, "AWS API Call via CloudTrail"),
        lambda: cloudtrail_put_image(image),
        lambda: ecs_deployment(image),
        lambda: ecs_deployment(image, "SERVICE_DEPLOYMENT_FAILED"),
        lambda: ecs_deployment(image, "SERVICE_TASK_START_IMPAIRED"),
        lambda: reconcile(image),
    ]
    event: dict[str, Any] = draw(st.sampled_from(builders))()
    return event


JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)


def host(region: str) -> str:
    return registry_host(ACCOUNT, region)
