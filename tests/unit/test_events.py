"""Intake: every sample in tests/events parses to its exact value, is ignored for its reason, or is rejected naming
its field."""

from __future__ import annotations

import copy

import pytest

from ecr_autodeploy.core.errors import EventError
from ecr_autodeploy.core.events import DIGEST_RE, Ignored, ImageEvent, ReplicationFailure, parse_event
from tests.samples import load_event, sample_names
from tests.unit.event_expectations import EXPECTED, IgnoredBecause, Rejected


def test_every_expectation_has_a_sample() -> None:
    assert sorted(EXPECTED) == sample_names()


@pytest.mark.parametrize("name", sample_names())
def test_sample(name: str) -> None:
    if name not in EXPECTED:
        pytest.fail(f"tests/events/{name}.json has no expectation in EXPECTED")
    expected = EXPECTED[name]
    raw = load_event(name)
    untouched = copy.deepcopy(raw)
    if isinstance(expected, Rejected):
        with pytest.raises(EventError) as caught:
            parse_event(raw)
        assert caught.value.field == expected.field
        assert expected.problem in str(caught.value)
        if isinstance(raw, dict):
            assert caught.value.event_id == raw["id"]
            assert f"(event {raw['id']})" in str(caught.value)
    elif isinstance(expected, IgnoredBecause):
        result = parse_event(raw)
        assert isinstance(result, Ignored)
        assert expected.reason in result.reason
        assert result.event_id == raw["id"]
        assert result.detail_type == raw["detail-type"]
    else:
        assert parse_event(raw) == expected
    assert raw == untouched, "parse_event must not change its input"


def test_samples_use_only_valid_digests_where_they_should_parse() -> None:
    for name, expected in EXPECTED.items():
        if isinstance(expected, ImageEvent | ReplicationFailure) and expected.digest is not None:
            assert DIGEST_RE.match(expected.digest), name
