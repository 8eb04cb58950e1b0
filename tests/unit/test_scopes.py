"""Unit tests of core.scopes: what the rules reach, as the narrowest IAM patterns."""

from __future__ import annotations

import fnmatch
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecr_autodeploy.core.scopes import glob_pattern, regex_prefix, repository_pattern, service_scopes
from tests.iam_check import wildcard
from tests.unit.iam_configs import SHOP


def test_scopes_take_the_install_region_for_targets_without_one() -> None:
    assert {s.where("ap-south-1") for s in service_scopes(SHOP)} == {"ap-south-1", "eu-west-1"}


@pytest.mark.parametrize(
    ("regex", "prefix"),
    [
        ("shop/api", "shop/api"),
        ("^shop/api", "shop/api"),
        ("shop/(api|web)", "shop/"),
        ("a/x|b/y", ""),
        ("shop/(?P<service>[a-z]+)", "shop/"),
        ("shop/ap?i", "shop/a"),
        ("shop/a*pi", "shop/"),
        ("shop/a+pi", "shop/a"),
        ("shop/a{2}", "shop/"),
        (r"shop\.x", "shop.x"),
        ("shop.x", "shop"),
        ("(?i)shop", ""),
        ("shop/[|]x", "shop/"),
        (r"shop/\|x", "shop/"),
        ("Shop", ""),
    ],
)
def test_regex_prefix(regex: str, prefix: str) -> None:
    assert regex_prefix(regex) == prefix


def test_repository_patterns() -> None:
    assert repository_pattern("shop/api") == "shop/api"
    assert repository_pattern("shop/*") == "shop/*"
    assert repository_pattern("shop/ap[ip]") == "shop/ap?"
    assert repository_pattern("shop/[!a]pi") == "shop/?pi"
    assert repository_pattern("re:shop/.*") == "shop/*"
    assert glob_pattern("a[") == "a["


NAMES = st.from_regex(re.compile(r"[a-z0-9]{1,4}(?:[._/-][a-z0-9]{1,4}){0,3}"), fullmatch=True)
REGEXES = st.sampled_from(
    [
        r"shop/(?P<service>[a-z]+)",
        r"a(b|c)d?/.*",
        r"ab?c/[0-9]+",
        r"x/y|a/.*",
        r"(team|shop)/api",
        r"t\.x/[a-z-]*",
        r"a{1,2}/b",
        r"a+/b",
    ]
)


@given(REGEXES, NAMES)
def test_every_full_match_of_a_regex_starts_with_its_prefix(regex: str, name: str) -> None:
    if re.fullmatch(regex, name):
        assert name.startswith(regex_prefix(regex))


GLOBS = st.sampled_from(["shop/*", "*/api", "s?op/a*", "shop/[ab]pi", "[!x]*/api", "a*b*c"])


@given(GLOBS, NAMES)
def test_every_glob_match_is_an_iam_match(glob: str, name: str) -> None:
    if fnmatch.fnmatchcase(name, glob):
        assert wildcard(glob_pattern(glob), name)
