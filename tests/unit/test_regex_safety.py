"""Unit tests of core.regex_safety through the rules: a regex that would hang every event is refused at load."""

from __future__ import annotations

import re
import time

import pytest

from ecr_autodeploy.core.config import parse_config
from tests.unit.rule_documents import error_of, rule


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({"rules": [rule(), rule(repository="re:^(a+)+$")]}, "rules.yaml: rules[1]: repository: "),
        ({"rules": [rule(tags=["v*", r"re:(\d+\.?)+"])]}, "rules.yaml: rules[0]: tags[1]: "),
        ({"rules": [rule(exclude_tags=[r"re:(\w+\s?)*x"])]}, "rules.yaml: rules[0]: exclude_tags[0]: "),
        (
            {"seed": {"service_regex": "repository/((a+)+)$", "cluster_regex": "(b)"}},
            "rules.yaml: seed.service_regex: ",
        ),
    ],
    ids=["repository", "tag", "exclude-tag", "seed"],
)
def test_a_catastrophic_regex_is_refused_at_load_naming_rule_and_field(data: object, where: str) -> None:
    message = error_of(data)
    assert message.startswith(where)
    assert "nests a repeat inside a repeat" in message


def test_the_refused_regex_really_is_exponential_and_the_check_is_instant() -> None:
    slow = re.compile(r"^(a+)+$")
    started = time.perf_counter()
    slow.fullmatch("a" * 18 + "!")
    eighteen = time.perf_counter() - started
    started = time.perf_counter()
    slow.fullmatch("a" * 22 + "!")
    assert time.perf_counter() - started > 4 * eighteen  # each extra character doubles the time
    started = time.perf_counter()
    error_of({"rules": [rule(repository="re:^(a+)+$")]})
    assert time.perf_counter() - started < 0.05


@pytest.mark.parametrize(
    "regex",
    [r"(?:[^/]+/)*([^/]+)", r"([a-z0-9]+[._-])*[a-z0-9]+", r"(?P<team>[a-z]+/)?(?P<app>[a-z]+)", r"(\d+\.)+\d+"],
)
def test_repeats_whose_rounds_are_separated_are_accepted(regex: str) -> None:
    assert parse_config({"rules": [rule(repository=f"re:{regex}")]}, "x").rules[0].repository == f"re:{regex}"
