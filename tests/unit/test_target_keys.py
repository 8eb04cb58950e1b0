"""Unit tests of the target keys only the policies read: role_external_id, families and pass_roles."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.config import parse_config
from tests.unit.rule_documents import error_of, rule, target

ROLE = "arn:aws:iam::111122223333:role/deployer"


def test_targets_may_name_an_external_id_families_and_pass_roles() -> None:
    spec = target(
        role_arn=ROLE,
        role_external_id="ecr-autodeploy-7f3a",
        families=["shop-api", "shop-*"],
        pass_roles=["arn:aws:iam::111122223333:role/shop-task", "arn:aws:iam::111122223333:role/ecs/*"],
    )
    (parsed,) = parse_config({"rules": [rule(targets=[spec])]}, "x").rules[0].targets
    assert parsed.role_external_id == "ecr-autodeploy-7f3a"
    assert parsed.families == ("shop-api", "shop-*")
    assert parsed.pass_roles == ("arn:aws:iam::111122223333:role/shop-task", "arn:aws:iam::111122223333:role/ecs/*")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            target(role_external_id="abc"),
            "rules.yaml: rules[0]: targets[0].role_external_id: set only with role_arn (it is the ExternalId of that"
            " role)",
        ),
        (
            target(role_arn=ROLE, role_external_id="a"),
            "rules.yaml: rules[0]: targets[0].role_external_id: not an sts:ExternalId (2 to 1224 letters, digits and"
            " +=,.@:/-)",
        ),
        (
            target(families=["shop api"]),
            "rules.yaml: rules[0]: targets[0].families[0]: 'shop api' is not a task-definition family, or a prefix"
            " ending in '*'",
        ),
        (
            target(families=[]),
            "rules.yaml: rules[0]: targets[0].families: empty list (expected a task-definition"
            " family, or a prefix ending in '*')",
        ),
        (
            target(pass_roles=["arn:aws:iam::111122223333:role/*"]),
            "rules.yaml: rules[0]: targets[0].pass_roles[0]: 'arn:aws:iam::111122223333:role/*' is not a role ARN, or"
            " a role path ending in '/*'",
        ),
    ],
    ids=["external-id-without-role", "external-id-too-short", "family-with-space", "families-empty", "every-role"],
)
def test_policy_keys_errors(spec: dict[str, Any], message: str) -> None:
    assert error_of({"rules": [rule(targets=[spec])]}) == message


def test_one_role_has_one_external_id() -> None:
    first = target(role_arn=ROLE, role_external_id="aa")
    second = target(service="web", role_arn=ROLE, role_external_id="bb")
    assert error_of({"rules": [rule(targets=[first]), rule(targets=[second])]}) == (
        f"rules.yaml: rules[1]: targets[0].role_external_id: {ROLE} has another role_external_id in rules[0]: one"
        " role, one ExternalId"
    )
