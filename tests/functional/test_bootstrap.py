"""bootstrap (the administrator's once) and install (the platform engineer's) against moto: the role is always
created inside the boundary, install never rewrites trust or boundary, uninstall leaves the boundary alone."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from click.testing import CliRunner

from ecr_autodeploy.aws.bootstrap import bootstrap
from ecr_autodeploy.aws.installer import InstallOptions, install, uninstall
from ecr_autodeploy.cli.main import cli
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.iam import TaskAccess, policies
from ecr_autodeploy.core.stack import Site, Stack
from tests.functional.installs import CONFIG, NAME, PACKAGE, REGION, RULES, RecordingClients, role_policy, shop
from tests.functional.world import ACCOUNT, World
from tests.iam_check import allows

BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/{NAME}-boundary"


@pytest.fixture
def clients(world: World) -> RecordingClients:
    return RecordingClients(region=REGION)


def boundary_document() -> Any:
    iam = boto3.client("iam")
    version = iam.get_policy(PolicyArn=BOUNDARY)["Policy"]["DefaultVersionId"]
    return iam.get_policy_version(PolicyArn=BOUNDARY, VersionId=version)["PolicyVersion"]["Document"]


def test_bootstrap_writes_the_execution_policy_as_the_boundary_and_install_creates_the_role_in_it(
    world: World, clients: RecordingClients
) -> None:
    shop(world)
    first = bootstrap(clients, CONFIG, InstallOptions())
    again = bootstrap(clients, CONFIG, InstallOptions())
    assert [(d.step.operation, d.action) for d in first.steps] == [
        ("create_policy", "created"),
        ("put_role_permissions_boundary", "absent"),
    ]
    assert [d.action for d in again.steps] == ["unchanged", "absent"]
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    role = boto3.client("iam").get_role(RoleName=NAME)["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    assert boundary_document() == role_policy()


def test_install_without_the_boundary_is_an_error_saying_who_runs_what(world: World, clients: RecordingClients) -> None:
    with pytest.raises(AwsError) as caught:
        install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert str(caught.value).startswith(f"checking permissions boundary {NAME}-boundary: NoSuchEntity: ")
    assert "an administrator runs `ecr-autodeploy bootstrap` first" in str(caught.value)
    assert boto3.client("iam").list_roles()["Roles"] == []
    assert boto3.client("sqs", REGION).list_queues().get("QueueUrls", []) == []  # nothing was created


def test_uninstall_leaves_the_boundary_and_bootstrap_after_it_changes_nothing(
    world: World, clients: RecordingClients
) -> None:
    bootstrap(clients, CONFIG, InstallOptions())
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    uninstall(clients, InstallOptions())
    again = uninstall(clients, InstallOptions())
    assert {d.action for d in again.steps} == {"absent"}
    assert boto3.client("iam").get_policy(PolicyArn=BOUNDARY)["Policy"]["PolicyName"] == f"{NAME}-boundary"
    assert [d.action for d in bootstrap(clients, CONFIG, InstallOptions()).steps] == ["unchanged", "absent"]


def test_new_rules_add_a_policy_version_keeping_at_most_five(world: World, clients: RecordingClients) -> None:
    bootstrap(clients, CONFIG, InstallOptions())
    for i in range(6):
        rules: dict[str, Any] = {
            "rules": [
                *RULES["rules"],
                {"repository": f"extra{i}", "tags": ["*"], "targets": [{"cluster": "c", "service": f"s{i}"}]},
            ]
        }
        report = bootstrap(clients, parse_config(rules, "rules.yaml"), InstallOptions())
        assert report.steps[0].action == "updated"
    versions = boto3.client("iam").list_policy_versions(PolicyArn=BOUNDARY)["Versions"]
    assert len(versions) == 5
    assert "service/c/s5" in json.dumps(boundary_document())


def test_an_older_role_without_the_boundary_is_refused_until_bootstrap_puts_it_on(
    world: World, clients: RecordingClients
) -> None:
    boto3.client("iam").create_role(
        RoleName=NAME,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )
    bootstrap(clients, CONFIG, InstallOptions())  # the administrator adopts it
    assert (
        boto3.client("iam").get_role(RoleName=NAME)["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == BOUNDARY
    )
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    boto3.client("iam").delete_role_permissions_boundary(RoleName=NAME)
    with pytest.raises(AwsError, match=r"^creating role ecr-autodeploy: BoundaryMissing: "):
        install(clients, CONFIG, InstallOptions(), PACKAGE)


def test_install_never_rewrites_the_roles_trust(world: World, clients: RecordingClients) -> None:
    bootstrap(clients, CONFIG, InstallOptions())
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    someone = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    boto3.client("iam").update_assume_role_policy(RoleName=NAME, PolicyDocument=json.dumps(someone))
    clients.calls.clear()
    with pytest.raises(AwsError, match=r"^creating role ecr-autodeploy: TrustPolicyDiffers: "):
        install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert not any(action == "iam:UpdateAssumeRolePolicy" for action, _ in clients.calls)


def test_bootstrap_is_the_administrators_not_within_the_installer_policy(
    world: World, clients: RecordingClients
) -> None:
    bootstrap(clients, CONFIG, InstallOptions())
    installer = policies(CONFIG, Stack(NAME, Site.of(REGION, ACCOUNT)), TaskAccess.unknown())["installer"]
    reads = ("Get", "List", "Describe")
    writes = {action for action, _ in clients.calls if not action.split(":")[1].startswith(reads)}
    assert writes == {"iam:CreatePolicy"}
    assert not allows(installer, "iam:CreatePolicy", BOUNDARY)
    assert not allows(installer, "iam:CreatePolicyVersion", BOUNDARY)


def test_the_bootstrap_command_prints_what_it_did_and_dry_run_changes_nothing(world: World, tmp_path: Any) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES))
    dry = CliRunner().invoke(cli, ["--region", REGION, "bootstrap", "--config", str(rules), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    plan = json.loads(dry.stdout)
    assert [s["operation"] for s in plan["plan"]] == ["create_policy", "put_role_permissions_boundary"]
    assert boto3.client("iam").list_policies(Scope="Local")["Policies"] == []
    done = CliRunner().invoke(cli, ["--region", REGION, "bootstrap", "--config", str(rules)])
    assert done.exit_code == 0, done.output
    assert f"created   writing permissions boundary {NAME}-boundary" in done.stdout
    assert f"boundary {BOUNDARY} is in place" in done.stdout


def test_a_boundary_from_other_rules_is_said_at_install(world: World, clients: RecordingClients) -> None:
    bootstrap(clients, CONFIG, InstallOptions())  # before the services exist: no families in the boundary
    shop(world)
    report = install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert any(
        note.startswith(f"permissions boundary {NAME}-boundary: differs from this install's execution policy")
        for note in report.notes
    )
    bootstrap(clients, CONFIG, InstallOptions())
    assert not any("boundary" in note for note in install(clients, CONFIG, InstallOptions(), PACKAGE).notes)
