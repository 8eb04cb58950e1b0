"""Unit tests of core.target_policies: what a cross-account target needs in its own account."""

from __future__ import annotations

from ecr_autodeploy.core.iam import policies
from tests.iam_check import allows, resources_for
from tests.unit.iam_configs import ACCESS, ACCOUNT, OTHER, SHOP, STACK, TARGET_ROLE, rules

PART = policies(SHOP, STACK, ACCESS)["target"][TARGET_ROLE]


def test_every_role_arn_of_the_rules_gets_its_part() -> None:
    assert list(policies(SHOP, STACK, ACCESS)["target"]) == [TARGET_ROLE]
    assert set(PART) == {"permissions", "trust", "repository_policy", "notes"}
    assert PART["notes"] == []


def test_the_permissions_reach_only_the_target_accounts_services_families_and_roles() -> None:
    policy = PART["permissions"]
    service = f"arn:aws:ecs:us-east-1:{OTHER}:service/x/y"
    revision = {"ecs:task-definition": f"arn:aws:ecs:us-east-1:{OTHER}:task-definition/tools-y:3"}
    assert allows(policy, "ecs:UpdateService", service, revision)
    assert not allows(policy, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/x/y", revision)
    assert not allows(policy, "ecs:UpdateService", f"arn:aws:ecs:us-east-1:{OTHER}:service/x/admin", revision)
    assert resources_for(policy, "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:us-east-1:{OTHER}:task-definition/tools-y:*"
    }
    ecs_tasks = {"iam:PassedToService": "ecs-tasks.amazonaws.com"}
    assert allows(policy, "iam:PassRole", f"arn:aws:iam::{OTHER}:role/tools-y-task", ecs_tasks)
    assert allows(policy, "iam:PassRole", f"arn:aws:iam::{OTHER}:role/ecs/web-task", ecs_tasks)
    assert not allows(policy, "iam:PassRole", f"arn:aws:iam::{OTHER}:role/PaymentsAdmin", ecs_tasks)


def test_the_trust_is_exactly_the_functions_role_with_the_external_id() -> None:
    (statement,) = PART["trust"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:role/ecr-autodeploy"}
    assert statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"StringEquals": {"sts:ExternalId": "ecr-autodeploy-7f3a"}}


def test_the_repository_policy_lets_the_target_account_pull_the_images_it_deploys() -> None:
    repository = PART["repository_policy"]
    assert repository["repositories"] == [f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/tools/*"]
    (statement,) = repository["policy"]["Statement"]
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{OTHER}:role/tools-y-task"]}
    assert set(statement["Action"]) == {
        "ecr:BatchGetImage",
        "ecr:GetDownloadUrlForLayer",
        "ecr:BatchCheckLayerAvailability",
    }


def test_what_the_rules_do_not_name_is_said_not_guessed() -> None:
    bare = rules({"repository": "tools/a", "targets": [{"cluster": "x", "service": "y", "role_arn": TARGET_ROLE}]})
    part = policies(bare, STACK, ACCESS)["target"][TARGET_ROLE]
    assert "Condition" not in part["trust"]["Statement"][0]
    assert any("role_external_id" in note for note in part["notes"])
    assert any("families and pass_roles" in note for note in part["notes"])
    assert "ecs:RegisterTaskDefinition" not in {a for s in part["permissions"]["Statement"] for a in s["Action"]}
    (statement,) = part["repository_policy"]["policy"]["Statement"]
    assert statement["Principal"] == {"AWS": [f"arn:aws:iam::{OTHER}:root"]}
