"""Unit tests of core.gate_rules: a rule's gates and a target's promotion, parsed, mapped, and every error named."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.gate_rules import DEFAULT_EXPIRES_SECONDS, GateSettings, Upstream, format_duration
from ecr_autodeploy.core.mapping import map_repository
from ecr_autodeploy.core.model import ServiceRef
from tests.unit.rule_documents import error_of, rule, target

ARN = "arn:aws:ecr:us-east-1:123456789012:repository/shop/api"


def test_a_rule_without_gates_has_none() -> None:
    (only,) = parse_config({"rules": [rule()]}, "x").rules
    assert only.gates is None
    assert only.targets[0].after is None


def test_every_gate_of_a_rule() -> None:
    data = rule(
        approval="required",
        approvers=["arn:aws:iam::123456789012:role/release", "arn:aws:sts::123456789012:assumed-role/ops/jo"],
        expires="1h30m",
        windows=["Mon-Fri 09:00-16:00 Europe/Berlin", "Sat 10:00-12:00"],
        hold_if_alarm=["checkout-5xx", "checkout-5xx", "latency"],
        max_parallel=2,
    )
    (only,) = parse_config({"rules": [data]}, "x").rules
    gates = only.gates
    assert gates is not None
    assert (gates.approval, gates.expires, gates.max_parallel) == (True, 5400.0, 2)
    assert gates.approvers[0] == "arn:aws:iam::123456789012:role/release"
    assert [w.text for w in gates.windows] == ["Mon-Fri 09:00-16:00 Europe/Berlin", "Sat 10:00-12:00"]
    assert gates.windows[1].zone == "UTC"
    assert gates.hold_if_alarm == ("checkout-5xx", "latency")


def test_approval_expires_after_a_day_unless_told() -> None:
    (only,) = parse_config({"rules": [rule(approval="required")]}, "x").rules
    assert only.gates == GateSettings(approval=True, expires=DEFAULT_EXPIRES_SECONDS)


def test_a_promoted_target_carries_its_upstream_and_soak_into_the_mapping() -> None:
    data = rule(
        repository="re:^shop/(?P<name>[a-z]+)$",
        targets=[
            target(cluster="prod", service="{name}", after={"cluster": "staging", "service": "{name}"}, soak="30m"),
            target(
                cluster="prod-eu", service="{name}", region="eu-west-1", after={"cluster": "staging", "service": "x"}
            ),
        ],
    )
    config = parse_config({"rules": [data]}, "x")
    assert config.rules[0].targets[0].after == Upstream("staging", "{name}")
    targets, skips = map_repository(config, "shop/api", ARN, "us-east-1")
    assert skips == []
    assert [(t.key, t.after, t.soak, t.gated) for t in targets] == [
        ("us-east-1/prod/api", ServiceRef("us-east-1", "staging", "api"), 1800.0, True),
        # The upstream is in the target's region unless after: names another.
        ("eu-west-1/prod-eu/api", ServiceRef("eu-west-1", "staging", "x"), 0.0, True),
    ]


def test_a_gated_rule_maps_its_gates_onto_every_target() -> None:
    config = parse_config({"rules": [rule(max_parallel=1, targets=[target(), target(service="web")])]}, "x")
    targets, _ = map_repository(config, "shop/api", ARN, "us-east-1")
    assert [t.gates.max_parallel if t.gates else None for t in targets] == [1, 1]
    assert all(t.gated for t in targets)
    (plain,), _ = map_repository(parse_config({"rules": [rule()]}, "x"), "shop/api", ARN, "us-east-1")
    assert not plain.gated


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0s"), (45, "45s"), (5400, "1h30m"), (86400, "1d"), (90061, "1d1h1m1s")]
)
def test_durations_are_written_in_their_largest_units(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            rule(approval=True),
            "rules.yaml: rules[0]: approval: expected 'required' (leave approval out to deploy without one), got a "
            "boolean",
        ),
        (rule(approval="yes"), "rules.yaml: rules[0]: approval: expected 'required' (leave approval out"),
        (
            rule(approvers=["arn:aws:iam::123456789012:root"]),
            "rules[0]: approvers: only applies with approval: required",
        ),
        (rule(expires="1h"), "rules.yaml: rules[0]: expires: only applies with approval: required"),
        (
            rule(approval="required", approvers=["release-managers"]),
            "rules.yaml: rules[0]: approvers[0]: 'release-managers' is not an IAM principal ARN",
        ),
        (rule(approval="required", approvers=[]), "rules[0]: approvers: empty list (leave approvers out"),
        (
            rule(approval="required", expires="tomorrow"),
            "rules[0]: expires: expected a duration such as 30m, 24h or 1h30m (units s, m, h, d), got 'tomorrow'",
        ),
        (rule(approval="required", expires=3600), "rules[0]: expires: expected a duration such as 30m"),
        (rule(approval="required", expires="31d"), "rules[0]: expires: expected 1m to 30d, got 31d"),
        (rule(approval="required", expires="30s"), "rules[0]: expires: expected 1m to 30d, got 30s"),
        (rule(windows=[]), "rules[0]: windows: empty list (leave windows out to deploy at any time)"),
        (rule(windows="Mon-Fri 09:00-16:00"), "rules[0]: windows: expected a list of strings, got a string"),
        (
            rule(windows=["Mon-Fri 09:00-16:00", "Mon-Fri 9am-4pm"]),
            "rules.yaml: rules[0]: windows[1]: 'Mon-Fri 9am-4pm' is not a window: write DAYS HH:MM-HH:MM [ZONE]",
        ),
        (
            rule(windows=["Mon-Fri 09:00-16:00 Europe/Berln"]),
            "rules.yaml: rules[0]: windows[0]: unknown time zone 'Europe/Berln'",
        ),
        (rule(hold_if_alarm=[]), "rules[0]: hold_if_alarm: empty list (leave hold_if_alarm out"),
        (rule(hold_if_alarm=["a,b"]), "rules[0]: hold_if_alarm[0]: not a CloudWatch alarm name"),
        (rule(max_parallel=0), "rules.yaml: rules[0]: max_parallel: expected 1 or more services at a time, got 0"),
        (
            rule(max_parallel=True),
            "rules[0]: max_parallel: expected a whole number of services, 1 or more, got a boolean",
        ),
        (
            rule(max_parallel="2"),
            "rules[0]: max_parallel: expected a whole number of services, 1 or more, got a string",
        ),
        (rule(targets=[target(soak="30m")]), "rules.yaml: rules[0]: targets[0].soak: only applies with after"),
        (
            rule(targets=[target(after="staging/api")]),
            "rules[0]: targets[0].after: expected a mapping {cluster, service}",
        ),
        (
            rule(targets=[target(after={"cluster": "staging"})]),
            "rules.yaml: rules[0]: targets[0].after.service: missing (expected a non-empty string)",
        ),
        (
            rule(targets=[target(after={"cluster": "staging", "service": "api", "account": "1"})]),
            "rules[0]: targets[0].after.account: unknown key (known keys: cluster, service, region)",
        ),
        (
            rule(targets=[target(after={"cluster": "staging", "service": "{name}"})]),
            "rules[0]: targets[0].after.service: unknown template variable {name}",
        ),
        (
            rule(targets=[target(after={"cluster": "staging", "service": "api", "region": "mars-1"})]),
            "rules[0]: targets[0].after.region: 'mars-1' is not an AWS region such as us-east-1",
        ),
        (
            rule(targets=[target(after={"cluster": "staging", "service": "api"}, soak="forever")]),
            "rules[0]: targets[0].soak: expected a duration such as 30m",
        ),
        (
            rule(targets=[target(after={"cluster": "shop", "service": "api"})]),
            "rules.yaml: rules[0]: targets[0].after: names the target itself",
        ),
    ],
)
def test_gate_errors_name_the_rule_and_field(data: dict[str, Any], message: str) -> None:
    assert message in error_of({"rules": [data]})
