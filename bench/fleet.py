"""What the benchmarks deploy to: repositories, images and ECS services on the emulator, built with plain boto3.

Task definitions look like real ones (two containers, roles, environment, secrets, ports) so that registering a
pinned copy costs what it costs in production. Images are manifests only; ECS on the emulator never pulls them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import boto3

from ecr_autodeploy.core.events import registry_host
from ecr_autodeploy.local import events
from ecr_autodeploy.local.images import manifest

ACCOUNT = "123456789012"  # moto's account
REGION = "us-east-1"
SIDECAR = "bench/sidecar"


@dataclass
class Fleet:
    """Builders on one emulator endpoint (setup only: never part of a timing)."""

    endpoint: str
    region: str = REGION
    _seeds: Iterator[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        session = boto3.session.Session(region_name=self.region)
        self.ecr: Any = session.client("ecr", endpoint_url=self.endpoint)
        self.ecs: Any = session.client("ecs", endpoint_url=self.endpoint)

    def new_tag(self) -> str:
        """Return a tag not used before in this fleet."""
        return f"v{next(self._seeds)}"

    def image_uri(self, repository: str, ref: str) -> str:
        return f"{registry_host(ACCOUNT, self.region)}/{repository}{ref}"

    def repository(self, name: str) -> None:
        self.ecr.create_repository(repositoryName=name)

    def push(self, repository: str, tag: str | None = None) -> str:
        """Push a new image (unique content); return its digest."""
        kwargs: dict[str, Any] = {
            "repositoryName": repository,
            "imageManifest": manifest(f"{repository}-{next(self._seeds)}"),
        }
        if tag is not None:
            kwargs["imageTag"] = tag
        return str(self.ecr.put_image(**kwargs)["image"]["imageId"]["imageDigest"])

    def cluster(self, name: str) -> None:
        self.ecs.create_cluster(clusterName=name)

    def task_definition(self, family: str, repository: str) -> str:
        """Register an app + sidecar task definition using `repository`; return its ARN."""
        containers = [
            {
                "name": name,
                "image": image,
                "memory": 256,
                "cpu": 128,
                "essential": True,
                "environment": [{"name": "SERVICE", "value": family}, {"name": "CONTAINER", "value": name}],
                "secrets": [{"name": "DB", "valueFrom": f"arn:aws:ssm:{self.region}:{ACCOUNT}:parameter/db"}],
                "portMappings": [{"containerPort": 8080 + i, "protocol": "tcp"}],
            }
            for i, (name, image) in enumerate(
                (("app", self.image_uri(repository, ":v0")), ("envoy", self.image_uri(SIDECAR, ":1.0")))
            )
        ]
        found = self.ecs.register_task_definition(
            family=family,
            containerDefinitions=containers,
            taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{family}-task",
            executionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/{family}-execution",
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            requiresCompatibilities=["FARGATE"],
            tags=[{"key": "team", "value": "bench"}],
        )
        return str(found["taskDefinition"]["taskDefinitionArn"])

    def services(self, cluster: str, names: Sequence[str], repository: str, *, shared: bool = False) -> None:
        """Create services using `repository`; with `shared`, all run one task definition."""
        arn = self.task_definition(f"{cluster}-shared", repository) if shared else ""
        for name in names:
            task_definition = arn or self.task_definition(f"{cluster}-{name}", repository)
            self.ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=task_definition, desiredCount=1)

    def build(self, cluster: str, repository: str, names: Sequence[str], *, shared: bool = False) -> None:
        """Create the cluster, the repository (and the sidecar's) and the services."""
        existing = {r["repositoryName"] for r in self.ecr.describe_repositories()["repositories"]}
        for name in (repository, SIDECAR):
            if name not in existing:
                self.repository(name)
        if not self.ecs.describe_clusters(clusters=[cluster])["clusters"]:
            self.cluster(cluster)
        self.services(cluster, names, repository, shared=shared)


def new_image_event(fleet: Fleet, repository: str, tag: str | None = None) -> dict[str, Any]:
    """Push a new image under a new tag, or move `tag` to it; return its replication event.

    Pinned deploys get a new tag each time: the emulator deletes the image a tag is moved from (ECR keeps it,
    untagged). A force deploy needs the tag its task definition names moved to the new image (the services here
    name ``v0``).
    """
    tag = tag or fleet.new_tag()
    return events.replicate(repository, fleet.push(repository, tag), tag, fleet.region)


def rules(repository: str, cluster: str, services: Sequence[str]) -> dict[str, Any]:
    """Return a rules document sending `repository` to `services`."""
    return {
        "rules": [
            {
                "repository": repository,
                "tags": ["*"],
                "targets": [{"cluster": cluster, "service": name} for name in services],
            }
        ]
    }
