"""Rules that reach hundreds of services still give policies IAM accepts: resources folded into shared prefixes
only when a document is over its limit, each fold said, and a clear error when even that is too large."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.iam import TaskAccess, boundary_policy, exact_execution_policy, execution_policy
from ecr_autodeploy.core.policy import document, statement
from ecr_autodeploy.core.policy_fit import INLINE_POLICY_LIMIT, MANAGED_POLICY_LIMIT, fit, size
from ecr_autodeploy.core.stack import Site, Stack
from tests.policy_lint import findings

STACK = Stack("ecr-autodeploy", Site.of("us-east-1", "123456789012"))
SERVICES = "arn:aws:ecs:us-east-1:123456789012:service"


def many(count: int, cluster: str = "production") -> Any:
    rules = [
        {
            "repository": f"shop/service-{i:03d}",
            "tags": ["semver:>=1.0.0"],
            "targets": [{"cluster": cluster, "service": f"service-{i:03d}"}],
        }
        for i in range(count)
    ]
    return parse_config({"rules": rules}, "rules.yaml")


def resources(policy: dict[str, Any], sid: str) -> list[str]:
    return next(s["Resource"] for s in policy["Statement"] if s["Sid"] == sid)


def test_a_policy_within_its_limit_is_left_exact() -> None:
    policy = exact_execution_policy(many(3), STACK, TaskAccess.unknown())
    assert fit(policy, MANAGED_POLICY_LIMIT, "boundary") == (policy, ())


def test_eighty_services_fold_into_their_shared_prefix_and_say_so() -> None:
    config = many(80)
    exact = exact_execution_policy(config, STACK, TaskAccess.unknown())
    assert size(exact) > MANAGED_POLICY_LIMIT
    boundary, notes = boundary_policy(config, STACK, TaskAccess.unknown())
    assert size(boundary) <= MANAGED_POLICY_LIMIT
    assert resources(boundary, "DescribeServices") == [f"{SERVICES}/production/service-0*"]
    assert any("DescribeServices: 80 resources folded into" in n for n in notes)
    assert findings(boundary) == []


def test_the_role_policy_keeps_names_while_it_fits_the_inline_limit() -> None:
    config = many(15)
    exact = exact_execution_policy(config, STACK, TaskAccess.unknown())
    assert MANAGED_POLICY_LIMIT < size(exact) <= INLINE_POLICY_LIMIT
    assert execution_policy(config, STACK, TaskAccess.unknown()) == exact


def test_a_lone_name_in_its_cluster_stays_exact() -> None:
    arns = [f"{SERVICES}/a/x-{i}" for i in range(50)] + [f"{SERVICES}/b/only"]
    policy = document([statement("S", ["ecs:DescribeServices"], arns)])
    folded, _ = fit(policy, 500, "test")
    assert resources(folded, "S") == [f"{SERVICES}/a/x-*", f"{SERVICES}/b/only"]


def test_clusters_fold_one_level_up_when_names_are_not_enough() -> None:
    arns = [f"{SERVICES}/prod-{c}/svc-{i}" for c in range(40) for i in range(2)]
    policy = document([statement("S", ["ecs:DescribeServices"], arns)])
    folded, _ = fit(policy, 300, "test")
    assert resources(folded, "S") == [f"{SERVICES}/prod-*"]


def test_too_large_even_folded_is_a_config_error_naming_the_limit() -> None:
    arns = [f"arn:aws:sns:us-east-1:123456789012:topic-{i}" for i in range(400)]
    policy = document([statement("S", ["sns:Publish"], arns)])
    with pytest.raises(ConfigError, match=f"at most {MANAGED_POLICY_LIMIT}") as caught:
        fit(policy, MANAGED_POLICY_LIMIT, "the permissions boundary")
    assert "the permissions boundary" in str(caught.value)
