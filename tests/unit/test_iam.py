"""Unit tests of core.iam: least-privilege documents from the rules, checked by parliament and by evaluation."""

from __future__ import annotations

import fnmatch
import json
import re
import warnings
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecr_autodeploy.core.config import Config, config_from_env, parse_config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.iam import KINDS, TaskAccess, execution_policy, policies
from ecr_autodeploy.core.policy import target_dlq_policy, trust_policy
from ecr_autodeploy.core.scopes import glob_pattern, regex_prefix, repository_pattern, service_scopes
from ecr_autodeploy.core.stack import Site, Stack
from tests.iam_check import actions, allows, resources_for, wildcard

with warnings.catch_warnings():
    # parliament opens its bundled config at import and never closes it.
    warnings.simplefilter("ignore", ResourceWarning)
    from parliament import analyze_policy_string

ACCOUNT = "123456789012"
OTHER = "210987654321"
SITE = Site.of("us-east-1", ACCOUNT)
STACK = Stack("ecr-autodeploy", SITE)
ACCESS = TaskAccess(
    families=((None, "shop-api"), ("eu-west-1", "shop-web")),
    roles=(f"arn:aws:iam::{ACCOUNT}:role/api-task", f"arn:aws:iam::{ACCOUNT}:role/api-execution"),
)
# Actions IAM cannot scope to a resource: "*" is the only form they take.
UNSCOPABLE = {
    "ecs:DescribeTaskDefinition",
    "ecs:ListClusters",
    "ecs:ListServices",
    "events:ListRules",
    "events:ListEventBuses",
    "events:TestEventPattern",
    "lambda:ListFunctions",
}


def rules(*items: dict[str, Any], notify: dict[str, Any] | None = None) -> Config:
    document: dict[str, Any] = {"rules": list(items)}
    if notify is not None:
        document["notify"] = notify
    return parse_config(document, "rules.yaml")


SHOP = rules(
    {
        "repository": "shop/api",
        "targets": [
            {"cluster": "shop", "service": "api"},
            {"cluster": "shop", "service": "web", "region": "eu-west-1"},
        ],
    },
    {
        "repository": "re:team/(?P<service>[a-z]+)",
        "strategy": "force",
        "targets": [{"cluster": "team", "service": "{service}"}],
    },
    {
        "repository": "tools/*",
        "targets": [{"cluster": "x", "service": "y", "role_arn": f"arn:aws:iam::{OTHER}:role/deployer"}],
    },
    notify={
        "sns_topic_arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:deploys",
        "slack_webhook_secret_id": "ecr-autodeploy/slack",
        "webhook_url_ssm_parameter": "/ecr-autodeploy/webhook-url",
    },
)
SEED = config_from_env(
    {"ECR_SERVICE_REGEX": r"repository/[^/]+/([^/]+)$", "ECR_CLUSTER_REGEX": r"repository/([^/]+)/"}, lambda p: ""
)
CONFIGS = {
    "shop": SHOP,
    "seed": SEED,
    "one": rules({"repository": "app", "targets": [{"cluster": "c", "service": "s"}]}),
    "rollback": rules({"repository": "app", "rollback": True, "targets": [{"cluster": "c", "service": "s"}]}),
}
# Actions newer than parliament's bundled definitions (1.6.4): it reports them as unknown, nothing else.
NEWER_THAN_PARLIAMENT = {"ecs:StopServiceDeployment"}


def every_policy() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for name, config in CONFIGS.items():
        for access_name, access in (("known", ACCESS), ("unknown", TaskAccess.unknown())):
            for kind, document in policies(config, STACK, access).items():
                found.append((f"{name}-{access_name}-{kind}", document))
    # The target dead-letter queue's policy is a resource policy with a Resource: parliament reads it too.
    # (A trust policy has no Resource by definition, which parliament reports as MALFORMED: checked below instead.)
    found.append(("target-dlq", target_dlq_policy(STACK)))
    return found


POLICIES = every_policy()


@pytest.mark.parametrize(("label", "document"), POLICIES, ids=[label for label, _ in POLICIES])
def test_every_policy_passes_parliament_with_no_findings(label: str, document: dict[str, Any]) -> None:
    findings = analyze_policy_string(json.dumps(document)).findings
    known = [f for f in findings if not (f.issue == "UNKNOWN_ACTION" and f.location["string"] in NEWER_THAN_PARLIAMENT)]
    assert [(f.issue, f.detail, f.location) for f in known] == []


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


def test_parliament_does_flag_a_star_resource_on_a_scopable_action() -> None:
    loose = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "ecs:RegisterTaskDefinition", "Resource": "*"}],
    }
    assert [f.issue for f in analyze_policy_string(json.dumps(loose)).findings] == ["RESOURCE_STAR"]


@pytest.mark.parametrize(("label", "document"), POLICIES, ids=[label for label, _ in POLICIES])
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
    assert not allows(policy, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/shop/admin")
    assert not allows(policy, "ecs:UpdateService", f"arn:aws:ecs:eu-west-1:{ACCOUNT}:service/shop/api")
    # The cross-account target is reached through its role: no ECS rights here for service x/y.
    assert not allows(policy, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/x/y")
    assert resources_for(policy, "sts:AssumeRole") == {f"arn:aws:iam::{OTHER}:role/deployer"}


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


def test_unknown_access_falls_back_to_account_wide_patterns_still_only_for_ecs_tasks() -> None:
    policy = execution_policy(SHOP, STACK, TaskAccess.unknown())
    assert resources_for(policy, "iam:PassRole") == {f"arn:aws:iam::{ACCOUNT}:role/*"}
    assert resources_for(policy, "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:us-east-1:{ACCOUNT}:task-definition/*",
        f"arn:aws:ecs:eu-west-1:{ACCOUNT}:task-definition/*",
    }
    assert not allows(
        policy, "iam:PassRole", f"arn:aws:iam::{ACCOUNT}:role/x", {"iam:PassedToService": "lambda.amazonaws.com"}
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
        f"arn:aws:ssm:us-east-1:{ACCOUNT}:parameter/ecr-autodeploy/webhook-url"
    }
    secret = f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:ecr-autodeploy/slack-Ab12Cd"
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


def test_installer_policy_is_scoped_to_this_install() -> None:
    policy = policies(SHOP, STACK, ACCESS)["installer"]
    rule = f"arn:aws:events:us-east-1:{ACCOUNT}:rule/ecr-autodeploy"
    assert allows(policy, "events:PutRule", rule)
    assert allows(policy, "events:PutTargets", rule + "-deployments")
    assert not allows(policy, "events:PutRule", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/other")
    role = f"arn:aws:iam::{ACCOUNT}:role/ecr-autodeploy"
    assert allows(policy, "iam:PassRole", role, {"iam:PassedToService": "lambda.amazonaws.com"})
    assert not allows(policy, "iam:PassRole", role, {"iam:PassedToService": "ec2.amazonaws.com"})
    assert not allows(policy, "lambda:UpdateFunctionCode", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:other")


def test_console_policy_is_narrower_than_events_star() -> None:
    policy = policies(SHOP, STACK, ACCESS)["console"]
    assert "events:DeleteRule" not in actions(policy)
    assert not allows(policy, "events:PutRule", f"arn:aws:events:us-east-1:{ACCOUNT}:rule/other")


def test_policies_has_every_kind() -> None:
    assert tuple(policies(SHOP, STACK, ACCESS)) == KINDS


def test_trust_policy_lets_only_lambda_assume_the_role() -> None:
    assert trust_policy()["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]


def test_target_dlq_accepts_only_this_installs_rules() -> None:
    statement = target_dlq_policy(STACK)["Statement"][0]
    sources = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sources == [STACK.rule_arn(rule) for rule in STACK.rule_names]


def test_scopes_take_the_install_region_for_targets_without_one() -> None:
    assert {s.where("ap-south-1") for s in service_scopes(SHOP)} == {"ap-south-1", "eu-west-1"}


# ---- repository patterns ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regex", "prefix"),
    [
        ("shop/api", "shop/api"),
        ("^shop/api", "shop/api"),
        ("shop/(api|web)", "shop/"),
        ("a/x|b/y", ""),
        ("shop/(?P<service>[a-z]+)", "shop/"),
        ("shop/ap?i", "shop/a"),
        ("shop/a*pi", "shop/"),
        ("shop/a+pi", "shop/a"),
        ("shop/a{2}", "shop/"),
        (r"shop\.x", "shop.x"),
        ("shop.x", "shop"),
        ("(?i)shop", ""),
        ("shop/[|]x", "shop/"),
        (r"shop/\|x", "shop/"),
        ("Shop", ""),
    ],
)
def test_regex_prefix(regex: str, prefix: str) -> None:
    assert regex_prefix(regex) == prefix


def test_repository_patterns() -> None:
    assert repository_pattern("shop/api") == "shop/api"
    assert repository_pattern("shop/*") == "shop/*"
    assert repository_pattern("shop/ap[ip]") == "shop/ap?"
    assert repository_pattern("shop/[!a]pi") == "shop/?pi"
    assert repository_pattern("re:shop/.*") == "shop/*"
    assert glob_pattern("a[") == "a["


NAMES = st.from_regex(re.compile(r"[a-z0-9]{1,4}(?:[._/-][a-z0-9]{1,4}){0,3}"), fullmatch=True)
REGEXES = st.sampled_from(
    [
        r"shop/(?P<service>[a-z]+)",
        r"a(b|c)d?/.*",
        r"ab?c/[0-9]+",
        r"x/y|a/.*",
        r"(team|shop)/api",
        r"t\.x/[a-z-]*",
        r"a{1,2}/b",
        r"a+/b",
    ]
)


@given(REGEXES, NAMES)
def test_every_full_match_of_a_regex_starts_with_its_prefix(regex: str, name: str) -> None:
    if re.fullmatch(regex, name):
        assert name.startswith(regex_prefix(regex))


GLOBS = st.sampled_from(["shop/*", "*/api", "s?op/a*", "shop/[ab]pi", "[!x]*/api", "a*b*c"])


@given(GLOBS, NAMES)
def test_every_glob_match_is_an_iam_match(glob: str, name: str) -> None:
    if fnmatch.fnmatchcase(name, glob):
        assert wildcard(glob_pattern(glob), name)
