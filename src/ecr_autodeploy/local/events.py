"""EventBridge events in the shapes AWS documents, for the emulator glue, the tests and the benchmarks.

ECR image events and ECS Deployment State Change events.

The demo's replication glue emits these on the emulator's bus; tests and benchmarks hand them to the handler.
https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-eventbridge.html
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from ecr_autodeploy.core.events import repository_arn
from ecr_autodeploy.local.emulator import ACCOUNT

SOURCE_REGION = "us-west-2"  # where the sample replications come from
SAMPLE_TIME = "2026-11-26T10:00:00Z"


def replication_detail(
    repository: str,
    digest: str,
    tag: str | None,
    *,
    source_account: str = ACCOUNT,
    source_region: str = SOURCE_REGION,
    result: str = "SUCCESS",
) -> dict[str, Any]:
    """Return the detail of an ``ECR Replication Action`` event, in the documented key order."""
    detail: dict[str, Any] = {
        "result": result,
        "repository-name": repository,
        "image-digest": digest,
        "source-account": source_account,
        "action-type": "REPLICATE",
        "source-region": source_region,
    }
    if tag is not None:
        detail["image-tag"] = tag
    return detail


def push_detail(repository: str, digest: str, tag: str | None) -> dict[str, Any]:
    """Return the detail of an ``ECR Image Action`` PUSH event (no tag for a push by digest)."""
    detail: dict[str, Any] = {
        "result": "SUCCESS",
        "repository-name": repository,
        "image-digest": digest,
        "action-type": "PUSH",
    }
    if tag is not None:
        detail["image-tag"] = tag
    return detail


def envelope(
    detail_type: str, detail: dict[str, Any], *, region: str, resources: list[str], account: str = ACCOUNT
) -> dict[str, Any]:
    """Return an aws.ecr EventBridge envelope around a detail."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": detail_type,
        "source": "aws.ecr",
        "account": account,
        "time": SAMPLE_TIME,
        "region": region,
        "resources": resources,
        "detail": detail,
    }


def replicate(repository: str, digest: str, tag: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    """Return an ``ECR Replication Action`` SUCCESS event, as ECR sends it in the destination region."""
    detail = replication_detail(repository, digest, tag)
    return envelope(
        "ECR Replication Action", detail, region=region, resources=[repository_arn(ACCOUNT, region, repository)]
    )


def push(repository: str, digest: str, tag: str | None = None, region: str = "us-east-1") -> dict[str, Any]:
    """Return an ``ECR Image Action`` PUSH event (its resources are empty)."""
    return envelope("ECR Image Action", push_detail(repository, digest, tag), region=region, resources=[])


def cloudtrail_replicate(repository: str, region: str = "us-east-1") -> dict[str, Any]:
    """Return CloudTrail's ``ReplicateImage`` service event: the repository only, no tag or digest."""
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
            "resources": [{"ARN": repository_arn(ACCOUNT, region, repository), "accountId": ACCOUNT}],
        },
    }


def deployment_detail(deployment_id: str, state: str, reason: str = "") -> dict[str, Any]:
    """Return the detail of an ECS ``Deployment State Change`` event (state: IN_PROGRESS, COMPLETED, FAILED)."""
    return {
        "eventType": "ERROR" if state == "FAILED" else "INFO",
        "eventName": f"SERVICE_DEPLOYMENT_{state}",
        "deploymentId": deployment_id,
        "updatedAt": datetime.now(UTC).isoformat(),
        "reason": reason or f"ECS deployment {deployment_id} {state.lower().replace('_', ' ')}.",
    }


def deployment_event(
    deployment_id: str,
    state: str,
    service: str = "api",
    cluster: str = "shop",
    reason: str = "",
    *,
    region: str = "us-east-1",
    account: str = ACCOUNT,
) -> dict[str, Any]:
    """Return an ECS Deployment State Change event in the shape AWS documents."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ECS Deployment State Change",
        "source": "aws.ecs",
        "account": account,
        "time": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "region": region,
        "resources": [f"arn:aws:ecs:{region}:{account}:service/{cluster}/{service}"],
        "detail": deployment_detail(deployment_id, state, reason),
    }
