"""Unit tests of core.iam: the function's role policy, computed from the rules, checked by evaluation.

Both policy checkers judge every document in test_policy_checkers.
"""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.iam import KINDS, TaskAccess, execution_policy, policies, unnamed_pinned_targets
from ecr_autodeploy.core.policy import target_dlq_policy, trust_policy
from tests.iam_check import actions, allows, resources_for
from tests.unit.iam_configs import (
    ACCESS,
    ACCOUNT,
    CONFIGS,
    NAMED,
    SEED,
    SHOP,
    STACK,
    TARGET_ROLE,
    every_document,
    rules,
)

# Actions IAM cannot scope to a resource: "*" is the only form they take.
UNSCOPABLE = {
    "ecs:DescribeTaskDefinition",
    "ecs:DeregisterTaskDefinition",
    "ecs:ListTasks",  # with the ecs:cluster condition (tests/unit/test_policy_checkers.py ACCEPTED)
    "ecs:ListClusters",
    "ecs:ListServices",
    "events:ListRuleNamesByTarget",
    "events:ListRules",
    "events:ListEventBuses",
    "events:TestEventPattern",
    "lambda:ListFunctions",
}
DOCUMENTS = every_document()
PIN = {"ecs:task-definition": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop-api:8"}


def test_service_deployments_are_followed_on_the_rules_services_and_stopped_only_where_a_rule_rolls_back() -> None:
    one = execution_policy(CONFIGS["one"], STACK, ACCESS)
    service = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/c/s"
    deployment = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-deployment/c/s/NCWGC2ZR-taawPAYrIaU5"
    revision = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service-revision/c/s/4980306466373577095"
    assert allows(one, "ecs:ListServiceDeployments", service)
    assert allows(one, "ecs:DescribeServiceDeployments", deployment)
    assert allows(one, "ecs:DescribeServiceDeployments", service)
    assert allows(one, "ecs:DescribeServiceRevisions", revision)
    assert not allows(one, "ecs:DescribeServiceDeployments", deployment.replace("/c/s/", "/c/other/"))
    assert "ecs:StopServiceDeployment" not in actions(one)
    # ContinueServiceDeployment is the CLI's (ecr-autodeploy continue), never the function's.
    assert "ecs:ContinueServiceDeployment" not in actions(one)
    rollback = execution_policy(CONFIGS["rollback"], STACK, ACCESS)
    assert allows(rollback, "ecs:StopServiceDeployment", deployment)
    assert not allows(rollback, "ecs:StopServiceDeployment", deployment.replace("/c/s/", "/c/other/"))


@pytest.mark.parametrize(("label", "document"), DOCUMENTS, ids=[label for label, _ in DOCUMENTS])
def test_no_star_actions_and_star_resources_only_where_iam_allows_nothing_else(
    label: str, document: dict[str, Any]
) -> None:
    for statement in document["Statement"]:
        named = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in named), statement
        if "*" in statement.get("Resource", []):
            assert set(named) <= UNSCOPABLE, statement


def test_services_are_the_long_arns_the_rules_name_with_templates_as_wildcards() -> None:
    policy = execution_policy(SHOP, STACK, ACCESS)
    assert resources_for(policy, "ecs:UpdateService") == {
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/api",
        f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/shop/web",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/team/*",
    }
    assert allows(policy, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/team/anything")
    assert not allows(policy, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/admin", PIN)
    assert not allows(policy, "ecs:UpdateService", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/shop/api", PIN)


def test_pinning_registers_only_the_known_families_and_passes_only_their_roles_to_ecs_tasks() -> None:
    policy = execution_policy(SHOP, STACK, ACCESS)
    family = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop-api:7"
    assert allows(policy, "ecs:RegisterTaskDefinition", family)
    assert not allows(policy, "ecs:RegisterTaskDefinition", f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/x:1")
    tagging = {"ecs:CreateAction": "RegisterTaskDefinition"}
    assert allows(policy, "ecs:TagResource", family, tagging)
    assert not allows(policy, "ecs:TagResource", family)
    role = f"arn:aws:iam::{ACCOUNT}:role/api-task"
    assert allows(policy, "iam:PassRole", role, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
    assert not allows(policy, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allows(
        policy, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/admin", {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    )


def test_force_only_rules_need_no_register_or_pass_role() -> None:
    config = rules({"repository": "app", "strategy": "force", "targets": [{"cluster": "c", "service": "s"}]})
    named = actions(execution_policy(config, STACK, TaskAccess.unknown()))
    assert "ecs:RegisterTaskDefinition" not in named
    assert "iam:PassRole" not in named
    assert "ecs:UpdateService" in named


def test_repositories_ledger_logs_queue_and_notify_resources() -> None:
    policy = execution_policy(SHOP, STACK, ACCESS)
    assert resources_for(policy, "ecr:DescribeImages") == {
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/shop/api",
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/*",
        f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/tools/*",
    }
    assert not allows(policy, "ecr:DescribeImages", f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/shop/web")
    assert allows(policy, "dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/ecr-autodeploy-ledger")
    assert not allows(policy, "dynamodb:PutItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/other")
    assert allows(
        policy,
        "logs:PutLogEvents",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/ecr-autodeploy:log-stream:x",
    )
    assert allows(policy, "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:ecr-autodeploy-dlq")
    assert resources_for(policy, "sns:Publish") == {f"arn:aws:sns:us-east-1:{ACCOUNT}:deploys"}
    assert resources_for(policy, "ssm:GetParameter") == {
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/ecr-autodeploy/slack-url"
    }
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:hooks/generic-Ab12Cd"
    assert allows(policy, "secretsmanager:GetSecretValue", secret)
    assert not allows(policy, "secretsmanager:GetSecretValue", secret + "xyz")


def test_no_notify_block_means_no_notify_rights() -> None:
    named = actions(execution_policy(CONFIGS["one"], STACK, ACCESS))
    assert not named & {"sns:Publish", "ssm:GetParameter", "secretsmanager:GetSecretValue"}


def test_a_bad_notify_block_is_a_config_error_at_load() -> None:
    with pytest.raises(ConfigError, match=r"^rules\.yaml: notify\.sns_topic_arn: "):
        rules({"repository": "app", "targets": [{"cluster": "c", "service": "s"}]}, notify={"sns_topic_arn": "x"})


def test_seed_mode_can_name_any_service_and_repository_of_the_region() -> None:
    policy = execution_policy(SEED, STACK, ACCESS)
    assert resources_for(policy, "ecs:UpdateService") == {f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/*/*"}
    assert resources_for(policy, "ecr:DescribeImages") == {f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/*"}


def test_trust_policy_lets_only_lambda_assume_the_role() -> None:
    assert trust_policy()["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_target_dlq_accepts_only_this_installs_rules() -> None:
    statement = target_dlq_policy(STACK)["Statement"][0]
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sources == [STACK.rule_arn(rule) for rule in STACK.rule_names]


def test_update_service_may_set_only_revisions_of_the_pinned_families() -> None:
    policy = execution_policy(SHOP, STACK, ACCESS)
    api = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/api"
    assert allows(policy, "ecs:UpdateService", api, PIN)
    other = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/payments-admin:3"
    assert not allows(policy, "ecs:UpdateService", api, {"ecs:task-definition": other})
    assert not allows(policy, "ecs:UpdateService", api)
    team = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/team/billing"
    own = f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/team-billing:4"
    assert allows(policy, "ecs:UpdateService", team)  # forced: no task definition set
    assert allows(policy, "ecs:UpdateService", team, {"ecs:task-definition": own})  # its rollback
    assert not allows(policy, "ecs:UpdateService", team, {"ecs:task-definition": other})


def test_without_discovery_only_what_the_rules_name_is_granted_never_a_wildcard() -> None:
    policy = execution_policy(SHOP, STACK, TaskAccess.unknown())
    assert "ecs:RegisterTaskDefinition" not in actions(policy)
    assert "iam:PassRole" not in actions(policy)
    assert unnamed_pinned_targets(SHOP) == ["rules[0].targets[0] (shop/api)", "rules[0].targets[1] (shop/web)"]
    named = execution_policy(NAMED, STACK, TaskAccess.unknown())
    assert resources_for(named, "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop-*"
    }
    assert resources_for(named, "iam:PassRole") == {f"arn:aws:iam::{ACCOUNT}:role/shop/*"}
    assert unnamed_pinned_targets(NAMED) == []
    for document in (policy, named):
        for statement in document["Statement"]:
            assert f"arn:aws:iam::{ACCOUNT}:role/*" not in statement["Resource"]
            assert "task-definition/*" not in " ".join(statement["Resource"])


def test_the_lambda_path_is_granted_no_call_it_never_makes() -> None:
    named = actions(execution_policy(SHOP, STACK, ACCESS))
    assert not named & {"ecr:BatchGetImage", "ecr:ListImages", "dynamodb:Query", "dynamodb:Scan"}
    assert {"ecr:DescribeImages", "ecr:DescribeRepositories", "dynamodb:BatchGetItem"} <= named


def test_seed_mode_grants_the_families_it_is_told_or_discovery_found() -> None:
    seed = SEED.seed
    assert seed is not None
    assert unnamed_pinned_targets(SEED) == ["seed"]
    config = type(SEED)(
        SEED.source,
        (),
        type(seed)(seed.service, seed.cluster, "pin", ("shop-*",), (f"arn:aws:iam::{ACCOUNT}:role/ecs/*",)),
        SEED.raw,
    )
    policy = execution_policy(config, STACK, TaskAccess.unknown())
    assert resources_for(policy, "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop-*"
    }
    assert allows(
        policy,
        "ecs:UpdateService",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/any/thing",
        {"ecs:task-definition": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/shop-web:2"},
    )
    assert not allows(
        policy,
        "ecs:UpdateService",
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/any/thing",
        {"ecs:task-definition": f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/admin:2"},
    )


def test_cross_account_targets_are_reached_only_through_their_role() -> None:
    policy = execution_policy(SHOP, STACK, ACCESS)
    assert resources_for(policy, "sts:AssumeRole") == {TARGET_ROLE}
    assert not allows(policy, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/x/y", PIN)


def test_policies_has_every_kind() -> None:
    assert tuple(policies(SHOP, STACK, ACCESS)) == KINDS == ("execution", "installer", "console", "target")


def test_the_alarms_of_hold_if_alarm_are_read_in_each_target_region_and_only_when_named() -> None:
    policy = execution_policy(CONFIGS["gates"], STACK, ACCESS)
    assert resources_for(policy, "cloudwatch:DescribeAlarms") == {
        f"arn:aws:cloudwatch:{region}:{ACCOUNT}:alarm:{name}"
        for region in ("us-east-1", "eu-west-1")
        for name in ("app-5xx", "app-latency")
    }
    assert allows(policy, "cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:app-5xx")
    assert not allows(policy, "cloudwatch:DescribeAlarms", f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:other")
    for name, config in CONFIGS.items():
        if name != "gates":
            assert "cloudwatch:DescribeAlarms" not in actions(execution_policy(config, STACK, ACCESS)), name
