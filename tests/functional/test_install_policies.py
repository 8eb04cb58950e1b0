"""Least privilege, checked against what really happens: the role policy allows exactly the rules' services,
and the installer and execution policies allow every call install, uninstall and a deploy really make."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import boto3
import pytest

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.discovery import discover_task_access
from ecr_autodeploy.aws.installer import InstallOptions, install, uninstall
from ecr_autodeploy.core.config import parse_config
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
    bootstrapped,
    role_policy,
    shop,
)
from tests.functional.world import ACCOUNT, World
from tests.iam_check import allows, resources_for


@pytest.fixture
def clients(world: World) -> RecordingClients:
    return bootstrapped(RecordingClients(region=REGION))


# ---- least privilege, checked against what really happens --------------------------------------------------------


def test_the_role_policy_allows_exactly_the_services_of_the_rules(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    policy = role_policy()
    ecs = boto3.client("ecs", REGION)
    allowed = set()
    for cluster in ecs.list_clusters()["clusterArns"]:
        for arn in ecs.list_services(cluster=cluster)["serviceArns"]:
            current = ecs.describe_services(cluster=cluster, services=[arn])["services"][0]["taskDefinition"]
            if allows(policy, "ecs:UpdateService", arn, {"ecs:task-definition": current}):
                allowed.add(arn.split(":service/")[1])
    assert allowed == {"shop/api", "shop/web", "team/billing"}
    # Only the pinned services register revisions and pass roles: team/billing is forced, shop/admin unmapped.
    assert resources_for(policy, "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-api:*",
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-web:*",
    }
    assert resources_for(policy, "iam:PassRole") == {
        f"arn:aws:iam::{ACCOUNT}:role/{service}-{kind}" for service in ("api", "web") for kind in ("task", "execution")
    }


def test_update_service_may_set_only_revisions_of_the_pinned_families(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    policy = role_policy()
    api = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/shop/api"
    revision = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-api:7"
    admin = f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-admin:1"  # a more privileged revision
    assert allows(policy, "ecs:UpdateService", api, {"ecs:task-definition": revision})
    assert not allows(policy, "ecs:UpdateService", api, {"ecs:task-definition": admin})
    assert not allows(policy, "ecs:UpdateService", api)  # a pinned service's update always names the revision
    billing = f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/team/billing"
    assert allows(policy, "ecs:UpdateService", billing)  # a forced deploy sets no task definition
    assert not allows(policy, "ecs:UpdateService", billing, {"ecs:task-definition": admin})


def test_a_missing_service_is_reported_and_left_out(world: World, clients: RecordingClients) -> None:
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    report = install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert any("shop/web" in note and "ServiceNotFoundException" in note for note in report.notes)
    assert resources_for(role_policy(), "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-api:*"
    }


def requests_of(action: str, params: Mapping[str, Any], stack: Stack) -> list[tuple[str, str, dict[str, str]]]:
    """Return what IAM authorises for one API call: (action, resource, request context), implied ones included."""
    site = stack.site
    service, operation = action.split(":")
    if service == "events":
        return [(action, stack.rule_arn(params.get("Rule") or params["Name"]), {})]
    if service == "lambda":
        qualifier = params.get("Qualifier")
        arn = site.arn("lambda", f"function:{params['FunctionName']}" + (f":{qualifier}" if qualifier else ""))
        found: list[tuple[str, str, dict[str, str]]] = [(action, arn, {})]
        if operation == "AddPermission":
            found = [(action, arn, {"lambda:Principal": params["Principal"]})]
        if "Role" in params:  # CreateFunction, UpdateFunctionConfiguration pass the role
            found.append(("iam:PassRole", params["Role"], {"iam:PassedToService": "lambda.amazonaws.com"}))
        return found
    if service == "iam":
        if "PolicyArn" in params:
            return [(action, params["PolicyArn"], {})]
        # The role carries the boundary install created it with (asserted by the bootstrap tests).
        role = site.arn("iam", f"role/{params['RoleName']}", region="")
        return [(action, role, {"iam:PermissionsBoundary": params.get("PermissionsBoundary", stack.boundary_arn)})]
    if service == "sqs":
        queue = params.get("QueueName") or str(params["QueueUrl"]).rsplit("/", 1)[-1]
        return [(action, site.arn("sqs", queue), {})]
    if service == "dynamodb":
        if operation == "BatchGetItem":
            return [(action, site.arn("dynamodb", f"table/{t}"), {}) for t in params["RequestItems"]]
        return [(action, site.arn("dynamodb", f"table/{params['TableName']}"), {})]
    if service == "logs":
        return [(action, site.arn("logs", f"log-group:{params['logGroupName']}"), {})]
    if service == "ecr":
        return [(action, site.arn("ecr", f"repository/{params['repositoryName']}"), {})]
    if operation == "DescribeServices":
        return [(action, site.arn("ecs", f"service/{params['cluster']}/{s}"), {}) for s in params["services"]]
    if operation == "ListServices":
        return [(action, "*", {"ecs:cluster": site.arn("ecs", f"cluster/{params['cluster']}")})]
    if operation == "UpdateService":
        service_arn = site.arn("ecs", f"service/{params['cluster']}/{params['service']}")
        definition = params.get("taskDefinition")
        context = {"ecs:task-definition": _definition_arn(site, definition)} if definition else {}
        return [(action, service_arn, context)]
    if operation == "RegisterTaskDefinition":
        revision = site.arn("ecs", f"task-definition/{params['family']}:1")
        found = [(action, revision, {})]
        if params.get("tags"):
            found.append(("ecs:TagResource", revision, {"ecs:CreateAction": "RegisterTaskDefinition"}))
        for key in ("taskRoleArn", "executionRoleArn"):
            if params.get(key):
                found.append(("iam:PassRole", params[key], {"iam:PassedToService": "ecs-tasks.amazonaws.com"}))
        return found
    return [(action, "*", {})]  # actions without resource-level permissions


def _definition_arn(site: Site, definition: str) -> str:
    return definition if definition.startswith("arn:") else site.arn("ecs", f"task-definition/{definition}")


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
    for call, params in expanded:
        if call == "sts:GetCallerIdentity":
            continue  # needs no permission
        for action, resource, context in requests_of(call, params, stack):
            assert allows(policy, action, resource, context), (action, resource, context)
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
    assert {"events:PutRule", "lambda:AddPermission", "lambda:CreateAlias", "iam:DeleteRole", "iam:PassRole"} <= seen
    assert {"iam:CreateRole", "iam:PutRolePolicy", "iam:GetPolicy", "ecs:ListServices"} <= seen


def test_the_execution_policy_allows_every_call_of_a_pinned_deploy(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    digest = world.push("shop/api", "v1", "one")
    deployer = build_deployer(CONFIG, clients, env={LEDGER_ENV: f"{NAME}-ledger"})
    clients.calls.clear()
    result = deployer.handle(events.replicate("shop/api", digest, "v1"))
    assert {o.status for o in result.outcomes} == {"deployed"}
    seen = assert_allowed(clients.calls, role_policy(), Stack(NAME, Site.of(REGION, ACCOUNT)))
    assert {"ecs:RegisterTaskDefinition", "ecs:UpdateService", "ecr:DescribeImages", "iam:PassRole"} <= seen
    assert ENV_LEDGER_TABLE == LEDGER_ENV


def test_a_template_on_a_shared_cluster_grants_only_the_services_the_rules_map(world: World) -> None:
    world.repository("team/billing")
    world.repository("finance/ledger")
    world.cluster("team")
    world.service("team", "billing", {"app": world.image_uri("team/billing", ":v1")})
    # Another team's service on the same cluster, with a powerful role: "{service}" matches its name too.
    world.service(
        "team",
        "ledger",
        {"app": world.image_uri("finance/ledger", ":v3")},
        taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/PaymentsAdmin",
    )
    rules = {
        "rules": [
            {
                "repository": "re:team/(?P<service>[a-z]+)",
                "tags": ["*"],
                "targets": [{"cluster": "team", "service": "{service}"}],
            }
        ]
    }
    config = parse_config(rules, "rules.yaml")
    found = discover_task_access(Clients(region=REGION), config, Site.of(REGION, ACCOUNT))
    assert found.access.families == ((None, "team-billing"),)
    assert found.access.roles == (
        f"arn:aws:iam::{ACCOUNT}:role/billing-execution",
        f"arn:aws:iam::{ACCOUNT}:role/billing-task",
    )
    assert any("team/ledger: no container runs an image the rules map to it" in note for note in found.notes)
    assert any("run install again after creating a service" in note for note in found.notes)
