"""Least privilege, checked against what really happens: the role policy allows exactly the rules' services,
and the installer and execution policies allow every call install, uninstall and a deploy really make."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from ecr_autodeploy.aws.installer import InstallOptions, install, uninstall
from ecr_autodeploy.core.iam import TaskAccess, policies
from ecr_autodeploy.core.installation import ENV_LEDGER_TABLE
from ecr_autodeploy.core.stack import Site, Stack
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import LEDGER_ENV, build_deployer
from tests.functional.installs import (
    CONFIG,
    NAME,
    PACKAGE,
    REGION,
    RecordingClients,
    role_policy,
    shop,
)
from tests.functional.world import ACCOUNT, World
from tests.iam_check import allows, resources_for


@pytest.fixture
def clients(world: World) -> RecordingClients:
    return RecordingClients(region=REGION)


# ---- least privilege, checked against what really happens --------------------------------------------------------


def test_the_role_policy_allows_exactly_the_services_of_the_rules(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    policy = role_policy()
    ecs = boto3.client("ecs", REGION)
    allowed = set()
    for cluster in ecs.list_clusters()["clusterArns"]:
        for service in ecs.list_services(cluster=cluster)["serviceArns"]:
            if allows(policy, "ecs:UpdateService", service):
                allowed.add(service.split(":service/")[1])
    assert allowed == {"shop/api", "shop/web", "team/billing"}
    # Only the pinned services register revisions and pass roles: team/billing is forced, shop/admin unmapped.
    assert resources_for(policy, "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-api:*",
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-web:*",
    }
    assert resources_for(policy, "iam:PassRole") == {
        f"arn:aws:iam::{ACCOUNT}:role/{service}-{kind}" for service in ("api", "web") for kind in ("task", "execution")
    }


def test_a_missing_service_is_reported_and_left_out(world: World, clients: RecordingClients) -> None:
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    report = install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert any("shop/web" in note and "ServiceNotFoundException" in note for note in report.notes)
    assert resources_for(role_policy(), "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-api:*"
    }


def resource_of(action: str, params: Mapping[str, Any], stack: Stack) -> list[str]:
    """Return the ARNs an API call acts on, from its parameters (as IAM authorises it)."""
    site = stack.site
    service, operation = action.split(":")
    if service == "events":
        return [stack.rule_arn(params.get("Rule") or params["Name"])]
    if service == "lambda":
        qualifier = params.get("Qualifier")
        name = params["FunctionName"]
        return [site.arn("lambda", f"function:{name}" + (f":{qualifier}" if qualifier else ""))]
    if service == "iam":
        return [site.arn("iam", f"role/{params['RoleName']}", region="")]
    if service == "sqs":
        queue = params.get("QueueName") or str(params["QueueUrl"]).rsplit("/", 1)[-1]
        return [site.arn("sqs", queue)]
    if service == "dynamodb":
        if operation == "BatchGetItem":
            return [site.arn("dynamodb", f"table/{t}") for t in params["RequestItems"]]
        return [site.arn("dynamodb", f"table/{params['TableName']}")]
    if service == "logs":
        return [site.arn("logs", f"log-group:{params['logGroupName']}")]
    if service == "ecr":
        return [site.arn("ecr", f"repository/{params['repositoryName']}")]
    if operation in ("DescribeServices",):
        return [site.arn("ecs", f"service/{params['cluster']}/{s}") for s in params["services"]]
    if operation == "UpdateService":
        return [site.arn("ecs", f"service/{params['cluster']}/{params['service']}")]
    if operation == "RegisterTaskDefinition":
        return [site.arn("ecs", f"task-definition/{params['family']}:1")]
    return ["*"]  # actions without resource-level permissions


# IAM authorises a TransactWriteItems call as the actions of its items.
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def assert_allowed(calls: list[tuple[str, dict[str, Any]]], policy: Mapping[str, Any], stack: Stack) -> set[str]:
    seen = set()
    expanded: list[tuple[str, dict[str, Any]]] = []
    for action, params in calls:
        if action == "dynamodb:TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, write),) = item.items()
                expanded.append((f"dynamodb:{TRANSACT_ACTIONS[kind]}", write))
        else:
            expanded.append((action, params))
    for action, params in expanded:
        if action == "sts:GetCallerIdentity":
            continue  # needs no permission
        for resource in resource_of(action, params, stack):
            assert allows(policy, action, resource), (action, resource)
        seen.add(action)
    return seen


def test_the_installer_policy_allows_every_call_of_install_and_uninstall(
    world: World, clients: RecordingClients
) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(snapstart=True), PACKAGE)
    install(clients, CONFIG, InstallOptions(), PACKAGE + b"\0")
    uninstall(clients, InstallOptions())
    stack = Stack(NAME, Site.of(REGION, ACCOUNT))
    seen = assert_allowed(clients.calls, policies(CONFIG, stack, TaskAccess.unknown())["installer"], stack)
    assert {"events:PutRule", "lambda:AddPermission", "lambda:CreateAlias", "iam:DeleteRole"} <= seen


def test_the_execution_policy_allows_every_call_of_a_pinned_deploy(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    digest = world.push("shop/api", "v1", "one")
    deployer = build_deployer(CONFIG, clients, env={LEDGER_ENV: f"{NAME}-ledger"})
    clients.calls.clear()
    result = deployer.handle(events.replicate("shop/api", digest, "v1"))
    assert {o.status for o in result.outcomes} == {"deployed"}
    seen = assert_allowed(clients.calls, role_policy(), Stack(NAME, Site.of(REGION, ACCOUNT)))
    assert {"ecs:RegisterTaskDefinition", "ecs:UpdateService", "ecr:DescribeImages"} <= seen
    assert ENV_LEDGER_TABLE == LEDGER_ENV
