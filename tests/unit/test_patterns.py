"""Unit tests of core.patterns: the rules deliver exactly the events the handler acts on.

A reference matcher (tests/eventbridge.py) checks every sample here; the functional install tests check the same
samples through moto's own pattern matching.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from ecr_autodeploy.core.ecs_events import route
from ecr_autodeploy.core.patterns import (
    DEPLOYMENT_EVENT_NAMES,
    RECONCILE_INPUT,
    RECONCILE_SCHEDULE,
    deployment_pattern,
    ecr_pattern,
)
from tests.eventbridge import deployment_verdict, is_cloudtrail, matches, verdict
from tests.samples import load_event, sample_names

SAMPLES = sample_names()


@pytest.mark.parametrize("cloudtrail", [False, True])
@pytest.mark.parametrize("name", SAMPLES)
def test_the_image_rule_delivers_exactly_the_accepted_samples(name: str, cloudtrail: bool) -> None:
    event = load_event(name)
    if not isinstance(event, dict):
        pytest.skip("EventBridge events are JSON objects")
    delivered = matches(ecr_pattern(cloudtrail), event)
    found = verdict(event)
    if found == "accepted":
        assert delivered == (cloudtrail or not is_cloudtrail(event))
    elif found == "ignored":
        assert not delivered


def test_every_accepted_sample_kind_is_represented() -> None:
    accepted = [load_event(n) for n in SAMPLES if verdict(load_event(n)) == "accepted"]
    kinds = {(e["detail-type"], e["detail"].get("action-type") or e["detail"].get("eventName")) for e in accepted}
    assert kinds >= {
        ("ECR Replication Action", "REPLICATE"),
        ("ECR Image Action", "PUSH"),
        ("AWS API Call via CloudTrail", "PutImage"),
        ("AWS API Call via CloudTrail", "ReplicateImage"),
        ("AWS Service Event via CloudTrail", "ReplicateImage"),
    }


def test_a_replication_failure_is_delivered_as_an_alert() -> None:
    event = load_event("replicate_failed")
    assert verdict(event) == "accepted"
    assert matches(ecr_pattern(), event)


def deployment_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = load_event("other_source_ecs_deployment_state_change")
    event["detail"]["eventName"] = name
    return event


@pytest.mark.parametrize(
    "name", [*DEPLOYMENT_EVENT_NAMES, "SERVICE_TASK_PLACEMENT_FAILURE", "SERVICE_STEADY_STATE", "OTHER"]
)
def test_the_deployment_rule_delivers_exactly_the_deployment_states_the_handler_reports(name: str) -> None:
    event = deployment_event(name)
    assert matches(deployment_pattern(), event) == (deployment_verdict(event) == "accepted")


@pytest.mark.parametrize("name", SAMPLES)
def test_the_deployment_rule_takes_no_ecr_event(name: str) -> None:
    event = load_event(name)
    if isinstance(event, dict) and event.get("source") == "aws.ecr":
        assert not matches(deployment_pattern(), event)


def test_the_reconcile_input_routes_to_reconcile() -> None:
    assert route(json.loads(json.dumps(RECONCILE_INPUT))) == "reconcile"
    assert RECONCILE_SCHEDULE.startswith("rate(")


def test_patterns_are_json_and_within_eventbridge_limits() -> None:
    for pattern in (ecr_pattern(False), ecr_pattern(True), deployment_pattern()):
        text = json.dumps(pattern)
        assert json.loads(text) == pattern
        assert len(text) < 4096
