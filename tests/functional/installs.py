"""What the install tests share: the rules, the package, recording clients, the services, and inventories."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import boto3
import yaml

from ecr_autodeploy.aws.bootstrap import bootstrap
from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.lambda_package import build_package
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.installation import InstallOptions
from tests.functional.world import World

REGION = "us-east-1"
NAME = "ecr-autodeploy"
RULES: dict[str, Any] = {
    "rules": [
        {
            "repository": "shop/api",
            "tags": ["*"],
            "targets": [{"cluster": "shop", "service": "api"}, {"cluster": "shop", "service": "web"}],
        },
        {
            "repository": "re:team/(?P<service>[a-z]+)",
            "tags": ["*"],
            "strategy": "force",
            "targets": [{"cluster": "team", "service": "{service}"}],
        },
    ]
}
CONFIG = parse_config(RULES, "rules.yaml")
PACKAGE = build_package().data


class FakeHttp:
    """The HTTP response a before-call hook returns to make botocore raise an error without a request."""

    status_code = 400
    headers: Mapping[str, str] = {}


class RecordingClients(Clients):
    """Clients that record every call as (IAM action, parameters), and can make chosen actions fail."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, str] = {}
        self._hooked: set[int] = set()

    def client(self, service: str, region: str | None = None, role_arn: str | None = None) -> Any:
        found = super().client(service, region, role_arn)
        if id(found) not in self._hooked:
            self._hooked.add(id(found))
            found.meta.events.register("before-parameter-build", self._record)
            found.meta.events.register("before-call", self._fail)
        return found

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((f"{model.service_model.signing_name}:{model.name}", dict(params)))

    def _fail(self, model: Any, **_: Any) -> tuple[FakeHttp, dict[str, Any]] | None:
        code = self.failures.get(f"{model.service_model.signing_name}:{model.name}")
        if code is None:
            return None
        return FakeHttp(), {"Error": {"Code": code, "Message": "injected by the test"}}


def shop(world: World) -> None:
    """Services the rules name (shop/api, shop/web pinned; team/billing by template, forced) and one they don't."""
    world.repository("shop/api")
    world.repository("team/billing")
    world.cluster("shop")
    world.cluster("team")
    for name in ("api", "web", "admin"):
        world.service("shop", name, {"app": world.image_uri("shop/api", ":v0")})
    world.service("team", "billing", {"app": world.image_uri("team/billing", ":v0")})


def inventory(name: str = NAME) -> dict[str, Any]:
    """Return everything an install of `name` may have created, as comparable data."""
    ev, lam, iam = boto3.client("events", REGION), boto3.client("lambda", REGION), boto3.client("iam")
    rules = {r["Name"]: r for r in ev.list_rules(NamePrefix=name)["Rules"]}
    found: dict[str, Any] = {
        "rules": {n: (r.get("EventPattern"), r.get("ScheduleExpression")) for n, r in rules.items()},
        "targets": {n: ev.list_targets_by_rule(Rule=n)["Targets"] for n in rules},
        "functions": [f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"] == name],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"] == name],
        "queues": sorted(boto3.client("sqs", REGION).list_queues(QueueNamePrefix=name).get("QueueUrls", [])),
        "tables": [t for t in boto3.client("dynamodb", REGION).list_tables()["TableNames"] if t.startswith(name)],
        "log_groups": [
            g["logGroupName"]
            for g in boto3.client("logs", REGION).describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")[
                "logGroups"
            ]
        ],
    }
    if found["functions"]:
        found["permissions"] = sorted(
            (s["Sid"], s["Condition"]["ArnLike"]["AWS:SourceArn"])
            for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
        )
        found["invoke_config"] = {
            k: v
            for k, v in lam.get_function_event_invoke_config(FunctionName=name).items()
            if k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        }
    if found["roles"]:
        found["role_policies"] = iam.list_role_policies(RoleName=name)["PolicyNames"]
    return found


def nothing_left() -> dict[str, Any]:
    return {"rules": {}, "targets": {}, "functions": [], "roles": [], "queues": [], "tables": [], "log_groups": []}


def role_policy(name: str = NAME) -> dict[str, Any]:
    document: Any = boto3.client("iam").get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
    found: dict[str, Any] = json.loads(document) if isinstance(document, str) else dict(document)
    return found


def write_rules(directory: Path) -> Path:
    """Write RULES as a YAML rules file in `directory`; return its path."""
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return path


def bootstrapped(clients: RecordingClients, name: str = NAME) -> RecordingClients:
    """Run the administrator's bootstrap for CONFIG (with what the account holds now); forget its calls."""
    bootstrap(clients, CONFIG, InstallOptions(name=name))
    clients.calls.clear()
    return clients
