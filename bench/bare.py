"""The baselines: the AWS calls a pinned deploy, and a survey, need at least, made directly with boto3.

A pin is five calls, nothing else: DescribeServices, DescribeTaskDefinition (with tags), DescribeImages (the
arrived image and the one running, for the downgrade check), RegisterTaskDefinition (a copy with the image pinned
and the two engine tags), UpdateService. No parsing, no rules, no threads, no logging: what any deploy must do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.fleet import ACCOUNT
from ecr_autodeploy.core.planning import DIGEST_TAG, EVENT_TAG, READ_ONLY_FIELDS


def pin(ecs: Any, ecr: Any, cluster: str, service: str, repository: str, digest: str, event_id: str) -> str:
    """Deploy `digest` of `repository` to one service; return the new task definition ARN."""
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    found = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"], include=["TAGS"])
    ids = [{"imageDigest": digest}]
    for container in found["taskDefinition"]["containerDefinitions"]:
        if f"/{repository}@" in container["image"]:
            ids.append({"imageDigest": container["image"].rsplit("@", 1)[1]})
    ecr.describe_images(registryId=ACCOUNT, repositoryName=repository, imageIds=ids)
    arn = str(
        ecs.register_task_definition(**_pinned(found, repository, digest, event_id))["taskDefinition"][
            "taskDefinitionArn"
        ]
    )
    ecs.update_service(cluster=cluster, service=service, taskDefinition=arn)
    return arn


def _pinned(found: dict[str, Any], repository: str, digest: str, event_id: str) -> dict[str, Any]:
    """Return RegisterTaskDefinition's parameters: the revision `found` with the repository's image pinned."""
    td = found["taskDefinition"]
    params = {k: v for k, v in td.items() if k not in READ_ONLY_FIELDS}
    params["containerDefinitions"] = [
        {**c, "image": f"{c['image'].split('/', 1)[0]}/{repository}@{digest}"}
        if _repository(c["image"]) == repository
        else c
        for c in td["containerDefinitions"]
    ]
    kept = [t for t in found.get("tags", []) if t["key"] not in (DIGEST_TAG, EVENT_TAG)]
    params["tags"] = [*kept, {"key": DIGEST_TAG, "value": digest}, {"key": EVENT_TAG, "value": event_id}]
    return params


def _repository(image: str) -> str:
    return image.split("/", 1)[1].split("@", 1)[0].rsplit(":", 1)[0]


@dataclass(frozen=True)
class Surveyed:
    """What a survey read: each repository's newest image, and each service's revision (with its tags)."""

    newest: dict[str, str]  # repository -> digest
    revisions: dict[tuple[str, str], dict[str, Any]]  # (cluster, service) -> DescribeTaskDefinition's answer


def survey(ecs: Any, ecr: Any, services: dict[str, list[str]], repositories: list[str]) -> Surveyed:
    """Read what `status` shows, the least a script can: every image of the repositories and what each service
    runs.

    DescribeRepositories (1,000 a page), DescribeImages of each repository (1,000 a page), DescribeServices (10
    services a call, the limit) and DescribeTaskDefinition once per distinct revision (ECS has no batch read).
    """
    for page in ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 1000}):
        page.get("repositories")
    newest: dict[str, str] = {}
    for repository in repositories:
        images: list[Any] = []
        paginator = ecr.get_paginator("describe_images")
        for page in paginator.paginate(repositoryName=repository, PaginationConfig={"PageSize": 1000}):
            images.extend(page.get("imageDetails", []))
        if images:
            newest[repository] = max(images, key=lambda i: i["imagePushedAt"])["imageDigest"]
    running: dict[tuple[str, str], str] = {}
    for cluster, names in services.items():
        for start in range(0, len(names), 10):
            for svc in ecs.describe_services(cluster=cluster, services=names[start : start + 10])["services"]:
                running[(cluster, svc["serviceName"])] = svc["taskDefinition"]
    read = {arn: ecs.describe_task_definition(taskDefinition=arn, include=["TAGS"]) for arn in set(running.values())}
    return Surveyed(newest, {where: read[arn] for where, arn in running.items()})


def reconcile(ecs: Any, ecr: Any, services: dict[str, list[str]], repositories: list[str]) -> int:
    """Survey, then pin each service not running its repository's newest image to it; return how many."""
    found = survey(ecs, ecr, services, repositories)
    deployed = 0
    for (cluster, service), revision in found.revisions.items():
        images = {
            c["image"].rsplit("@", 1)[-1]: _repository(c["image"])
            for c in revision["taskDefinition"]["containerDefinitions"]
        }
        for repository, digest in found.newest.items():
            if repository in images.values() and digest not in images:
                arn = ecs.register_task_definition(**_pinned(revision, repository, digest, "reconcile"))
                ecs.update_service(
                    cluster=cluster, service=service, taskDefinition=arn["taskDefinition"]["taskDefinitionArn"]
                )
                deployed += 1
    return deployed
