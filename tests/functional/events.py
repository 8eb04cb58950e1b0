"""EventBridge envelopes for functional tests, in the shapes AWS documents."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.world import ACCOUNT


def replicate(repository: str, digest: str, tag: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    detail: dict[str, Any] = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "source-account": ACCOUNT,
        "action-type": "REPLICATE",
        "source-region": "us-west-2",
    }
    if tag is not None:
        detail["image-tag"] = tag
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECR Replication Action",
        "source": "aws.ecr",
        "account": ACCOUNT,
        "time": "2026-11-26T10:00:00Z",
        "region": region,
        "resources": [f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repository}"],
        "detail": detail,
    }


def push(repository: str, digest: str, tag: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    event = replicate(repository, digest, tag, region)
    event["detail-type"] = "ECR Image Action"
    event["resources"] = []
    event["detail"] = {k: v for k, v in event["detail"].items() if not k.startswith("source-")}
    event["detail"]["action-type"] = "PUSH"
    return event


def cloudtrail_replicate(repository: str, region: str = "us-east-1") -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS Service Event via CloudTrail",
        "source": "aws.ecr",
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventSource": "ecr.amazonaws.com",
            "eventName": "ReplicateImage",
            "awsRegion": region,
            "requestParameters": None,
            "responseElements": None,
            "eventType": "AwsServiceEvent",
            "resources": [{"ARN": f"arn:aws:ecr:{region}:{ACCOUNT}:repository/{repository}", "accountId": ACCOUNT}],
        },
    }
