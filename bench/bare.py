"""The baselines: the AWS calls a pinned deploy, and a survey, need at least, made directly with boto3.

A pin is five calls, nothing else: DescribeServices, DescribeTaskDefinition (with tags), DescribeImages (the
arrived image and the one running, for the downgrade check), RegisterTaskDefinition (a copy with the image pinned
and the two engine tags), UpdateService. No parsing, no rules, no threads, no logging: what any deploy must do.
"""

from __future__ import annotations

from typing import Any

from bench.fleet import ACCOUNT
from ecr_autodeploy.core.planning import DIGEST_TAG, EVENT_TAG, READ_ONLY_FIELDS


def pin(ecs: Any, ecr: Any, cluster: str, service: str, repository: str, digest: str, event_id: str) -> str:
    """Deploy `digest` of `repository` to one service; return the new task definition ARN."""
    svc = ecs.describe_services(cluster=cluster, services=[service])["services"][0]
    found = ecs.describe_task_definition(taskDefinition=svc["taskDefinition"], include=["TAGS"])
    td = found["taskDefinition"]
    ids = [{"imageDigest": digest}]
    for container in td["containerDefinitions"]:
        if f"/{repository}@" in container["image"]:
            ids.append({"imageDigest": container["image"].rsplit("@", 1)[1]})
    ecr.describe_images(registryId=ACCOUNT, repositoryName=repository, imageIds=ids)
    params = {k: v for k, v in td.items() if k not in READ_ONLY_FIELDS}
    containers = []
    for container in td["containerDefinitions"]:
        host, rest = container["image"].split("/", 1)
        name = rest.split("@", 1)[0].rsplit(":", 1)[0]
        containers.append({**container, "image": f"{host}/{repository}@{digest}"} if name == repository else container)
    params["containerDefinitions"] = containers
    kept = [t for t in found.get("tags", []) if t["key"] not in (DIGEST_TAG, EVENT_TAG)]
    params["tags"] = [*kept, {"key": DIGEST_TAG, "value": digest}, {"key": EVENT_TAG, "value": event_id}]
    arn = str(ecs.register_task_definition(**params)["taskDefinition"]["taskDefinitionArn"])
    ecs.update_service(cluster=cluster, service=service, taskDefinition=arn)
    return arn


def survey(ecs: Any, ecr: Any, services: dict[str, list[str]], repositories: list[str]) -> int:
    """Read what `status` shows, the least a script can: every image of the repositories and what each service
    runs. Return the number of services read.

    DescribeRepositories (1,000 a page), DescribeImages of each repository (1,000 a page), DescribeServices (10
    services a call, the limit) and DescribeTaskDefinition once per distinct revision (ECS has no batch read).
    """
    for page in ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 1000}):
        page.get("repositories")
    for repository in repositories:
        paginator = ecr.get_paginator("describe_images")
        for page in paginator.paginate(repositoryName=repository, PaginationConfig={"PageSize": 1000}):
            page.get("imageDetails")
    revisions: set[str] = set()
    found = 0
    for cluster, names in services.items():
        for start in range(0, len(names), 10):
            described = ecs.describe_services(cluster=cluster, services=names[start : start + 10])["services"]
            revisions.update(s["taskDefinition"] for s in described)
            found += len(described)
    for arn in revisions:
        ecs.describe_task_definition(taskDefinition=arn)
    return found
