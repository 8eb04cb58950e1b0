"""A rule's deployment: block: parsed against what ECS accepts, merged into the service's deploymentConfiguration."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.strategies import DeploymentSettings, deployment_configuration, planned_seconds


def settings(block: object) -> DeploymentSettings | None:
    rule = {"repository": "shop/api", "deployment": block, "targets": [{"cluster": "shop", "service": "api"}]}
    return parse_config({"rules": [rule]}, "rules.yaml").rules[0].deployment


def error(block: object) -> str:
    with pytest.raises(ConfigError) as caught:
        settings(block)
    return str(caught.value)


def test_a_canary_block_as_the_issue_writes_it() -> None:
    found = settings(
        {"strategy": "CANARY", "canary_percent": 10, "canary_bake_minutes": 5, "bake_minutes": 10, "alarms": ["a"]}
    )
    assert found == DeploymentSettings("CANARY", 10.0, 5, bake_minutes=10, alarms=("a",))


def test_no_block_leaves_the_service_s_own_strategy() -> None:
    assert settings(None) is None


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"strategy": "SIDEWAYS"}, "deployment.strategy: expected one of ROLLING, BLUE_GREEN, LINEAR, CANARY"),
        ({"strategy": "CANARY", "canary_percent": 0.05}, "deployment.canary_percent: expected 0.1 to 100 in steps"),
        ({"strategy": "CANARY", "canary_percent": 10.05}, "deployment.canary_percent: expected 0.1 to 100 in steps"),
        ({"strategy": "CANARY", "canary_percent": "10"}, "deployment.canary_percent: expected a percentage"),
        ({"strategy": "LINEAR", "linear_percent": 2}, "deployment.linear_percent: expected 3 to 100 in steps"),
        ({"strategy": "CANARY", "canary_bake_minutes": 1441}, "deployment.canary_bake_minutes: expected 0 to 1440"),
        ({"strategy": "LINEAR", "canary_percent": 10}, "deployment.canary_percent: only applies with strategy CANARY"),
        ({"canary_percent": 10}, "deployment.canary_percent: only applies with strategy CANARY (strategy is not set)"),
        ({"strategy": "ROLLING", "bake_minutes": 5}, "deployment.bake_minutes: only applies with strategy"),
        ({"strategy": "BLUE_GREEN"}, "deployment.bake_minutes: missing (ECS requires bakeTimeInMinutes"),
        ({"strategy": "CANARY", "alarms": []}, "deployment.alarms: empty list"),
        ({"strategy": "CANARY", "alarms": ["a,b"]}, "deployment.alarms[0]: not a CloudWatch alarm name"),
        ({"strategy": "CANARY", "alarm_rollback": False}, "deployment.alarm_rollback: only applies with alarms"),
        ({"strategy": "CANARY", "pause": ["PRODUCTION_TRAFFIC_SHIFT"]}, "deployment.pause[0]: expected one of"),
        ({"strategy": "ROLLING", "pause": ["POST_SCALE_UP"]}, "deployment.pause: only applies with strategy"),
        ({"strategy": "CANARY", "pause_timeout_minutes": 5}, "deployment.pause_timeout_minutes: only applies with"),
        ({"strategy": "CANARY", "canary_pct": 5}, "deployment.canary_pct: unknown key (did you mean 'canary_percent'?"),
        ({}, "deployment: empty (leave deployment out"),
        ("CANARY", "deployment: expected a mapping, got a string"),
    ],
)
def test_errors_name_the_rule_and_field(block: object, message: str) -> None:
    assert error(block).startswith(f"rules.yaml: rules[0]: {message}")


def test_strategy_names_are_ecs_s_in_any_case() -> None:
    found = settings({"strategy": "linear", "linear_percent": 20, "linear_bake_minutes": 3, "bake_minutes": 0})
    assert found is not None
    assert (found.strategy, found.linear_percent, found.linear_bake_minutes) == ("LINEAR", 20.0, 3)


CURRENT: dict[str, Any] = {
    "deploymentCircuitBreaker": {"enable": True, "rollback": True},
    "maximumPercent": 200,
    "minimumHealthyPercent": 100,
    "lifecycleHooks": [
        {
            "targetType": "AWS_LAMBDA",
            "hookTargetArn": "arn:aws:lambda:::function:f",
            "lifecycleStages": ["POST_SCALE_UP"],
        }
    ],
}


def test_the_settings_are_merged_into_what_the_service_has() -> None:
    s = settings(
        {
            "strategy": "CANARY",
            "canary_percent": 10,
            "canary_bake_minutes": 5,
            "bake_minutes": 10,
            "alarms": ["checkout-5xx"],
            "pause": ["POST_TEST_TRAFFIC_SHIFT"],
            "pause_timeout_minutes": 60,
        }
    )
    assert s is not None
    merged = deployment_configuration(s, CURRENT)
    assert merged == {
        **CURRENT,
        "strategy": "CANARY",
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 5},
        "bakeTimeInMinutes": 10,
        "alarms": {"alarmNames": ["checkout-5xx"], "enable": True, "rollback": True},
        "lifecycleHooks": [
            CURRENT["lifecycleHooks"][0],  # the service's Lambda hook stays
            {
                "targetType": "PAUSE",
                "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
                "timeoutConfiguration": {"timeoutInMinutes": 60},
            },
        ],
    }
    assert deployment_configuration(s, merged) is None  # nothing to change the second time


def test_back_to_rolling_drops_the_native_blocks() -> None:
    s = settings({"strategy": "ROLLING"})
    assert s is not None
    native = {**CURRENT, "strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 5.0}, "bakeTimeInMinutes": 3}
    assert deployment_configuration(s, native) == {**CURRENT, "strategy": "ROLLING"}


def test_planned_waits_of_each_strategy() -> None:
    canary = {"strategy": "CANARY", "canaryConfiguration": {"canaryBakeTimeInMinutes": 5}, "bakeTimeInMinutes": 10}
    assert planned_seconds(canary) == 15 * 60
    linear = {"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}}
    assert planned_seconds(linear) == 3 * 2 * 60  # no bake after the last step
    assert planned_seconds({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 7}) == 7 * 60
    assert planned_seconds({}) == 0
