"""A small AWS world on moto for functional tests: repositories, images, clusters, services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import boto3

from ecr_autodeploy.core.events import registry_host
from ecr_autodeploy.core.installation import ledger_key_schema
from ecr_autodeploy.local.images import index, manifest

if TYPE_CHECKING:
    from mypy_boto3_ecr import ECRClient
    from mypy_boto3_ecs import ECSClient

ACCOUNT = "123456789012"  # moto's default account


@dataclass
class World:
    """Builders over moto; every call goes through boto3 like the code under test."""

    region: str = "us-east-1"
    _ecr: dict[str, ECRClient] = field(default_factory=dict)
    _ecs: dict[str, ECSClient] = field(default_factory=dict)

    def ecr(self, region: str | None = None) -> ECRClient:
        r = region or self.region
        if r not in self._ecr:
            self._ecr[r] = boto3.client("ecr", region_name=r)
        return self._ecr[r]

    def ecs(self, region: str | None = None) -> ECSClient:
        r = region or self.region
        if r not in self._ecs:
            self._ecs[r] = boto3.client("ecs", region_name=r)
        return self._ecs[r]

    def image_uri(self, repository: str, ref: str = ":latest", region: str | None = None) -> str:
        return f"{registry_host(ACCOUNT, region or self.region)}/{repository}{ref}"

    def repository(self, name: str, region: str | None = None) -> None:
        self.ecr(region).create_repository(repositoryName=name)

    def push(self, repository: str, tag: str | None, seed: str, region: str | None = None) -> str:
        kwargs: dict[str, Any] = {"repositoryName": repository, "imageManifest": manifest(seed)}
        if tag is not None:
            kwargs["imageTag"] = tag
        return str(self.ecr(region).put_image(**kwargs)["image"]["imageId"]["imageDigest"])

    def push_index(self, repository: str, tag: str, seed: str, region: str | None = None) -> tuple[str, list[str]]:
        """Push two untagged platform manifests and a tagged index over them; return (index digest, children)."""
        children = [self.push(repository, None, f"{seed}-{arch}", region) for arch in ("amd64", "arm64")]
        body = index(seed, dict(zip(("amd64", "arm64"), children, strict=True)))
        put = self.ecr(region).put_image(repositoryName=repository, imageManifest=body, imageTag=tag)
        return str(put["image"]["imageId"]["imageDigest"]), children

    def cluster(self, name: str, region: str | None = None) -> None:
        self.ecs(region).create_cluster(clusterName=name)

    def service(
        self,
        cluster: str,
        name: str,
        containers: dict[str, str],
        region: str | None = None,
        **task_definition: Any,
    ) -> str:
        """Register a task definition {container name: image} with realistic fields; create the service."""
        defs = [
            {
                "name": cname,
                "image": image,
                "memory": 256,
                "cpu": 128,
                "essential": True,
                "environment": [{"name": "SERVICE", "value": name}, {"name": "CONTAINER", "value": cname}],
                "secrets": [
                    {"name": "DB_PASSWORD", "valueFrom": f"arn:aws:ssm:{region or self.region}:{ACCOUNT}:parameter/db"}
                ],
                "portMappings": [{"containerPort": 8080 + i, "protocol": "tcp"}],
            }
            for i, (cname, image) in enumerate(containers.items())
        ]
        params: dict[str, Any] = {
            "family": f"{cluster}-{name}",
            "containerDefinitions": defs,
            "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}-task",
            "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{name}-execution",
            "networkMode": "awsvpc",
            "cpu": "256",
            "memory": "512",
            "requiresCompatibilities": ["FARGATE"],
            "volumes": [{"name": "scratch"}],
            "tags": [{"key": "team", "value": "shop"}],
            **task_definition,
        }
        arn = self.ecs(region).register_task_definition(**params)["taskDefinition"]["taskDefinitionArn"]
        self.ecs(region).create_service(cluster=cluster, serviceName=name, taskDefinition=arn, desiredCount=2)
        return arn

    def running(self, cluster: str, service: str, region: str | None = None) -> dict[str, Any]:
        """Return the service's current task definition (with tags under "_tags")."""
        svc = self.ecs(region).describe_services(cluster=cluster, services=[service])["services"][0]
        found = self.ecs(region).describe_task_definition(taskDefinition=svc["taskDefinition"], include=["TAGS"])
        td: dict[str, Any] = dict(found["taskDefinition"])
        td["_tags"] = found.get("tags", [])
        return td

    def images_of(self, cluster: str, service: str, region: str | None = None) -> dict[str, str]:
        return {c["name"]: c["image"] for c in self.running(cluster, service, region)["containerDefinitions"]}

    def ledger(self, name: str = "ecr-autodeploy", region: str | None = None) -> str:
        """Create the ledger table an installation named `name` has (as install creates it); return its name."""
        attributes, key_schema = ledger_key_schema()
        table = f"{name}-ledger"
        client: Any = boto3.client("dynamodb", region_name=region or self.region)
        client.create_table(
            TableName=table, AttributeDefinitions=attributes, KeySchema=key_schema, BillingMode="PAY_PER_REQUEST"
        )
        return table

    def revisions(self, family: str, region: str | None = None) -> int:
        return len(self.ecs(region).list_task_definitions(familyPrefix=family)["taskDefinitionArns"])
