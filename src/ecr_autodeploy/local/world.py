"""The demo world on the emulator: a build region that replicates to a deploy region that runs an ECS shop.

    build region (us-west-2)                       deploy region (us-east-1)
    ECR shop/api, shop/web  -- replication -->     ECR shop/api, shop/web (created by replication)
    (rule: prefix "shop/")                         ECS cluster "shop", Fargate, circuit breaker + rollback:
                                                     api    (app: shop/api, log-router)   \\ one repository,
                                                     worker (worker: shop/api, log-router) / two services
                                                     web    (web: shop/web, log-router)
                                                     checkout (checkout: shop/checkout), CloudWatch
                                                       alarm checkout-5xx; its rule deploys it CANARY
                                                     orders (orders: shop/orders), production
                                                   ECS cluster "staging": orders (orders: shop/orders)
                                                   SNS topic shop-deploys -> SQS queue shop-deploys-inbox
                                                   the rules file maps shop/api -> api, worker; shop/web -> web;
                                                   shop/checkout -> checkout (deployment: CANARY 10%, alarm);
                                                   shop/orders -> staging/orders, then shop/orders once it
                                                   completed on staging, behind an approval (notified)

History, pushed before the demo starts: shop/api 1.4.0 (two days ago; the services run it by tag), shop/api
1.4.1 (yesterday; its replication event is held back and arrives late in scenario 3), shop/web 2.0.0,
shop/checkout 1.0.0, shop/orders 1.0.0. The checkout and orders services are apart from `services` (scenarios 1
to 3 leave them alone). The emulator stamps every push with the current second, so the history's push times are
set back in-process.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.config import Config, parse_config_text
from ecr_autodeploy.core.events import registry_host
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.local.ecs_rollout import ERRORS_ANNOTATION, EXIT_CODE_ANNOTATION
from ecr_autodeploy.local.emulator import ACCOUNT, backend
from ecr_autodeploy.local.images import OCI_MANIFEST, manifest

BUILD_REGION = "us-west-2"
DEPLOY_REGION = "us-east-1"
CLUSTER = "shop"
LOG_ROUTER_IMAGE = "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.4"
RULES_YAML = """\
# ecr-autodeploy rules of the demo world
rules:
  - repository: shop/api
    tags: ["semver:>=1.0.0"]
    targets:
      - {cluster: shop, service: api}
      - {cluster: shop, service: worker}
  - repository: shop/web
    tags: ["semver:>=2.0.0"]
    targets:
      - {cluster: shop, service: web}
  - repository: shop/checkout
    tags: ["semver:>=1.0.0"]
    deployment:                          # ECS's own canary, set in the UpdateService that deploys
      strategy: CANARY
      canary_percent: 10
      canary_bake_minutes: 5
      bake_minutes: 10
      alarms: [checkout-5xx]
    targets:
      - {cluster: shop, service: checkout}
  - repository: shop/orders              # staging first ...
    tags: ["semver:>=1.0.0"]
    targets:
      - {cluster: staging, service: orders}
  - repository: shop/orders              # ... production only what completed on staging, once a person approves
    tags: ["semver:>=1.0.0"]
    approval: required
    expires: 24h
    targets:
      - {cluster: shop, service: orders, after: {cluster: staging, service: orders}}
notify:                                  # the approval requests, with the command that approves them
  sns_topic_arn: arn:aws:sns:us-east-1:123456789012:shop-deploys
  on: [approval]
"""
CANARY_ALARM = "checkout-5xx"
TOPIC = "shop-deploys"
INBOX = "shop-deploys-inbox"  # an SQS queue subscribed to the topic: where the demo reads what was notified


@frozen
class ServiceSpec:
    """One ECS service of the world: its app container's repository and starting tag."""

    name: str
    container: str
    repository: str
    tag: str
    command: tuple[str, ...] = ()
    cluster: str = CLUSTER

    @property
    def label(self) -> str:
        """Return how the demo names the service: its name, ``CLUSTER/NAME`` outside the shop cluster."""
        return self.name if self.cluster == CLUSTER else f"{self.cluster}/{self.name}"


SERVICES = (
    ServiceSpec("api", "app", "shop/api", "1.4.0"),
    ServiceSpec("worker", "worker", "shop/api", "1.4.0", ("bin/worker", "--queue", "orders")),
    ServiceSpec("web", "web", "shop/web", "2.0.0"),
)
CANARY_SERVICE = ServiceSpec("checkout", "checkout", "shop/checkout", "1.0.0")  # scenarios 4 and 5
STAGING_SERVICE = ServiceSpec("orders", "orders", "shop/orders", "1.0.0", cluster="staging")  # scenario 6
PRODUCTION_SERVICE = ServiceSpec("orders", "orders", "shop/orders", "1.0.0")
EVERY_SERVICE = (*SERVICES, CANARY_SERVICE, STAGING_SERVICE, PRODUCTION_SERVICE)
HISTORY = (  # (repository, tag, age): pushed before the demo
    ("shop/api", "1.4.0", timedelta(days=2)),
    ("shop/web", "2.0.0", timedelta(days=2)),
    ("shop/checkout", "1.0.0", timedelta(days=2)),
    ("shop/orders", "1.0.0", timedelta(days=2)),
    ("shop/api", "1.4.1", timedelta(days=1)),
)
LATE = ("shop/api", "1.4.1")  # its replication event is held back until scenario 3


@frozen
class World:
    """What the demo built: regions, cluster, services, the rules file and the history's digests."""

    account: str
    build_region: str
    deploy_region: str
    cluster: str
    services: tuple[ServiceSpec, ...]
    rules_path: Path
    config: Config
    digests: dict[str, str]  # "repository:tag" -> digest
    canary: ServiceSpec = CANARY_SERVICE
    staging: ServiceSpec = STAGING_SERVICE
    production: ServiceSpec = PRODUCTION_SERVICE
    inbox: str = ""  # the URL of the queue that receives the notifications

    def service(self, name: str) -> ServiceSpec:
        """Return the named service's spec."""
        return next(s for s in self.services if s.name == name)

    def image_uri(self, repository: str, ref: str) -> str:
        """Return the deploy-region ECR image URI of `repository` with `ref` (":tag" or "@digest")."""
        return f"{registry_host(self.account, self.deploy_region)}/{repository}{ref}"


def image_manifest(repository: str, tag: str, *, exit_code: int = 0, errors: int = 0) -> str:
    """Return the manifest the demo pushes for repository:tag; a non-zero exit code marks it broken on ECS, and
    `errors` (a percentage of failing requests) makes it start but fail once it takes traffic."""
    annotations = {"org.opencontainers.image.version": tag}
    if exit_code:
        annotations[EXIT_CODE_ANNOTATION] = str(exit_code)
    if errors:
        annotations[ERRORS_ANNOTATION] = str(errors)
    return manifest(f"{repository}:{tag}", OCI_MANIFEST, annotations)


def push(clients: Clients, region: str, repository: str, tag: str, *, exit_code: int = 0, errors: int = 0) -> str:
    """Push an image (PutImage, as `docker push` ends) and return its digest."""
    with aws_errors("pushing image", f"{region}/{repository}:{tag}"):
        found = clients.ecr(region).put_image(
            repositoryName=repository,
            imageManifest=image_manifest(repository, tag, exit_code=exit_code, errors=errors),
            imageManifestMediaType=OCI_MANIFEST,
            imageTag=tag,
        )
    return str(found["image"]["imageId"]["imageDigest"])


def backdate(region: str, repository: str, digest: str, when: datetime, account: str = ACCOUNT) -> None:
    """Set an image's push time (the emulator has no API for it; ECR never changes it)."""
    for image in backend("ecr", region, account).repositories[repository].images:
        if image.get_image_digest() == digest:
            image.image_pushed_at = int(when.timestamp())


def build(
    clients: Clients,
    workdir: Path,
    *,
    hold: Callable[[str, str], None],
    wait_replicated: Callable[[], None],
    settle: Callable[[], None],
    now: datetime | None = None,
) -> World:
    """Create the world through the emulator's API; return it.

    `hold` keeps an image's replication event back, `wait_replicated` waits for the replication of what was
    pushed, `settle` brings the new services to a steady state (they have been running for a while).
    """
    now = now or datetime.now(UTC)
    build_ecr = clients.ecr(BUILD_REGION)
    with aws_errors("creating repositories", BUILD_REGION):
        for repository in sorted({s.repository for s in EVERY_SERVICE}):
            build_ecr.create_repository(repositoryName=repository, imageTagMutability="IMMUTABLE")
    with aws_errors("configuring replication", BUILD_REGION):
        build_ecr.put_replication_configuration(
            replicationConfiguration={
                "rules": [
                    {
                        "destinations": [{"region": DEPLOY_REGION, "registryId": ACCOUNT}],
                        "repositoryFilters": [{"filter": "shop/", "filterType": "PREFIX_MATCH"}],
                    }
                ]
            }
        )
    hold(*LATE)
    digests: dict[str, str] = {}
    for repository, tag, _ in HISTORY:
        digests[f"{repository}:{tag}"] = push(clients, BUILD_REGION, repository, tag)
    wait_replicated()
    for repository, tag, age in HISTORY:
        for region in (BUILD_REGION, DEPLOY_REGION):
            backdate(region, repository, digests[f"{repository}:{tag}"], now - age)
    _roles_and_secrets(clients)
    network = _network(clients)
    _cluster(clients, network)
    inbox = _inbox(clients)
    settle()
    rules_path = workdir / "rules.yaml"
    rules_path.write_text(RULES_YAML, encoding="utf-8")
    config = parse_config_text(RULES_YAML, str(rules_path))
    return World(ACCOUNT, BUILD_REGION, DEPLOY_REGION, CLUSTER, SERVICES, rules_path, config, digests, inbox=inbox)


def _inbox(clients: Clients) -> str:
    """Create the notification topic and the queue subscribed to it; return the queue's URL."""
    sqs = clients.client("sqs", DEPLOY_REGION)
    with aws_errors("creating the notification inbox", TOPIC):
        topic = clients.client("sns", DEPLOY_REGION).create_topic(Name=TOPIC)["TopicArn"]
        url = str(sqs.create_queue(QueueName=INBOX)["QueueUrl"])
        queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        clients.client("sns", DEPLOY_REGION).subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue)
    return url


def _roles_and_secrets(clients: Clients) -> None:
    iam = clients.client("iam", DEPLOY_REGION)
    statement = {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    with aws_errors("creating task roles", CLUSTER):
        for spec in EVERY_SERVICE:
            for kind in ("task", "execution"):
                iam.create_role(RoleName=f"{spec.cluster}-{spec.name}-{kind}", AssumeRolePolicyDocument=trust)
    with aws_errors("creating secrets", CLUSTER):
        clients.client("ssm", DEPLOY_REGION).put_parameter(
            Name="/shop/db-password", Value="not-a-real-password", Type="SecureString"
        )
        clients.client("secretsmanager", DEPLOY_REGION).create_secret(
            Name="shop/payments-api-key", SecretString="not-a-real-key"
        )


def _network(clients: Clients) -> dict[str, Any]:
    ec2 = clients.client("ec2", DEPLOY_REGION)
    with aws_errors("creating the network", DEPLOY_REGION):
        vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{DEPLOY_REGION}{zone}")[
                "Subnet"
            ]["SubnetId"]
            for i, zone in enumerate("ab")
        ]
        group = ec2.create_security_group(GroupName="shop-tasks", Description="shop tasks", VpcId=vpc)["GroupId"]
    return {"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [group], "assignPublicIp": "DISABLED"}}


def _cluster(clients: Clients, network: dict[str, Any]) -> None:
    ecs = clients.ecs(DEPLOY_REGION)
    host = registry_host(ACCOUNT, DEPLOY_REGION)
    for cluster in dict.fromkeys(s.cluster for s in EVERY_SERVICE):
        with aws_errors("creating cluster", cluster):
            ecs.create_cluster(clusterName=cluster, settings=[{"name": "containerInsights", "value": "enabled"}])
    with aws_errors("creating alarm", CANARY_ALARM):
        clients.client("cloudwatch", DEPLOY_REGION).put_metric_alarm(
            AlarmName=CANARY_ALARM,
            Namespace="AWS/ApplicationELB",
            MetricName="HTTPCode_Target_5XX_Count",
            Dimensions=[{"Name": "TargetGroup", "Value": "targetgroup/shop-checkout/0123456789abcdef"}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=10,
            ComparisonOperator="GreaterThanThreshold",
        )
    for spec in EVERY_SERVICE:
        with aws_errors("creating service", f"{DEPLOY_REGION}/{spec.cluster}/{spec.name}"):
            arn = ecs.register_task_definition(**_task_definition(spec, host))["taskDefinition"]["taskDefinitionArn"]
            ecs.create_service(
                cluster=spec.cluster,
                serviceName=spec.name,
                taskDefinition=arn,
                desiredCount=2,
                launchType="FARGATE",
                networkConfiguration=network,  # type: ignore[arg-type]
                propagateTags="TASK_DEFINITION",
                tags=[{"key": "team", "value": "shop"}],
            )
            # CreateService on the emulator ignores deploymentConfiguration; UpdateService stores it.
            ecs.update_service(
                cluster=spec.cluster,
                service=spec.name,
                deploymentConfiguration={
                    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                    "maximumPercent": 200,
                    "minimumHealthyPercent": 100,
                },
            )


def _task_definition(spec: ServiceSpec, host: str) -> dict[str, Any]:
    log_config = {
        "logDriver": "awsfirelens",
        "options": {"Name": "cloudwatch_logs", "region": DEPLOY_REGION, "log_group_name": f"/shop/{spec.name}"},
    }
    app: dict[str, Any] = {
        "name": spec.container,
        "image": f"{host}/{spec.repository}:{spec.tag}",
        "essential": True,
        "cpu": 256,
        "memory": 512,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp", "name": "http"}],
        "environment": [
            {"name": "SERVICE", "value": spec.name},
            {"name": "LOG_LEVEL", "value": "info"},
        ],
        "secrets": [
            {"name": "DB_PASSWORD", "valueFrom": f"arn:aws:ssm:{DEPLOY_REGION}:{ACCOUNT}:parameter/shop/db-password"},
            {
                "name": "PAYMENTS_API_KEY",
                "valueFrom": f"arn:aws:secretsmanager:{DEPLOY_REGION}:{ACCOUNT}:secret:shop/payments-api-key",
            },
        ],
        "healthCheck": {"command": ["CMD-SHELL", "curl -fs http://localhost:8080/health || exit 1"], "interval": 10},
        "logConfiguration": log_config,
        "dependsOn": [{"containerName": "log-router", "condition": "START"}],
    }
    if spec.command:
        app["command"] = list(spec.command)
        app.pop("portMappings")
        app.pop("healthCheck")
    router = {
        "name": "log-router",
        "image": LOG_ROUTER_IMAGE,
        "essential": True,
        "cpu": 64,
        "memory": 128,
        "firelensConfiguration": {"type": "fluentbit"},
    }
    return {
        "family": f"{spec.cluster}-{spec.name}",
        "taskRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{spec.cluster}-{spec.name}-task",
        "executionRoleArn": f"arn:aws:iam::{ACCOUNT}:role/{spec.cluster}-{spec.name}-execution",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": "512",
        "memory": "1024",
        "runtimePlatform": {"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        "containerDefinitions": [app, router],
        "tags": [{"key": "team", "value": "shop"}],
    }
