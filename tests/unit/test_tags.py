"""Unit tests of core.tags: pattern forms, semver precedence and ranges, and tag policies."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_autodeploy.core.tags import SemVer, TagPolicy, parse_semver_range, parse_tag_pattern

# --- SemVer ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.2.3", SemVer(1, 2, 3)),
        ("v1.2.3", SemVer(1, 2, 3)),
        ("0.0.0", SemVer(0, 0, 0)),
        ("10.20.30", SemVer(10, 20, 30)),
        ("1.2.3-rc.1", SemVer(1, 2, 3, ("rc", "1"))),
        ("v1.2.0-rc1", SemVer(1, 2, 0, ("rc1",))),
        ("1.2.3+build.5", SemVer(1, 2, 3)),
        ("1.2.3-alpha-1.0+sha.abc", SemVer(1, 2, 3, ("alpha-1", "0"))),
        ("1.0.0-0A.is.legal", SemVer(1, 0, 0, ("0A", "is", "legal"))),
    ],
)
def test_semver_parse_accepts_versions(text: str, expected: SemVer) -> None:
    assert SemVer.parse(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "v", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.3-", "1.2.3-01", "1.2.3-rc..1", "V1.2.3",
     "vv1.2.3", "latest", "1.2.3 ", " 1.2.3", "1.2.3\n", "release-1.2.3", "1.2.3+", "-1.2.3"],
)  # fmt: skip
def test_semver_parse_rejects_non_versions(text: str) -> None:
    assert SemVer.parse(text) is None


def test_semver_precedence_follows_the_spec_example() -> None:
    # https://semver.org/#spec-item-11
    chain = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
             "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "2.0.0", "2.1.0", "2.1.1", "10.0.0"]  # fmt: skip
    versions = [SemVer.parse(t) for t in chain]
    assert all(v is not None for v in versions)
    shuffled = list(versions)
    random.Random(7).shuffle(shuffled)
    assert sorted(shuffled, key=lambda v: v.key if v else ()) == versions


def test_semver_str_drops_v_and_build() -> None:
    assert str(SemVer.parse("v1.2.3-rc.1+build")) == "1.2.3-rc.1"
    assert str(SemVer(4, 5, 6)) == "4.5.6"


# --- semver ranges -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_text", "tag", "expected"),
    [
        (">=1.2 <2", "1.2.0", True),
        (">=1.2 <2", "v1.9.9", True),
        (">=1.2 <2", "1.1.9", False),
        (">=1.2 <2", "2.0.0", False),
        (">=1.2 <2", "2.0.0-rc1", False),  # below 2.0.0 by precedence, but a pre-release
        (">=1.2 <2", "1.5.0-rc1", False),
        (">=1.2<2", "1.5.0", True),
        (">= 1.2  < 2", "1.5.0", True),
        (">=v1.2", "1.2.0", True),
        (">1.2", "1.2.9", False),
        (">1.2", "1.3.0", True),
        (">1.2.3", "1.2.3", False),
        (">1.2.3", "1.2.4", True),
        ("<=1.2", "1.2.9", True),
        ("<=1.2", "1.3.0", False),
        ("<=1.2.3", "1.2.3", True),
        ("<=1.2.3", "1.2.4", False),
        ("<1.2", "1.1.99", True),
        ("<1.2", "1.2.0", False),
        ("1.2", "1.2.0", True),
        ("1.2", "1.2.7", True),
        ("1.2", "1.3.0", False),
        ("1.2", "1.1.0", False),
        ("=1", "1.9.0", True),
        ("=1", "2.0.0", False),
        ("1.2.3", "1.2.3", True),
        ("=1.2.3", "1.2.4", False),
        ("==1.2.3", "v1.2.3", True),
        ("~1.2.3", "1.2.3", True),
        ("~1.2.3", "1.2.9", True),
        ("~1.2.3", "1.2.2", False),
        ("~1.2.3", "1.3.0", False),
        ("~1.2", "1.2.0", True),
        ("~1.2", "1.3.0", False),
        ("~1", "1.9.0", True),
        ("~1", "2.0.0", False),
        ("^1.2.3", "1.9.9", True),
        ("^1.2.3", "1.2.2", False),
        ("^1.2.3", "2.0.0", False),
        ("^0.2.3", "0.2.9", True),
        ("^0.2.3", "0.3.0", False),
        ("^0.0.3", "0.0.3", True),
        ("^0.0.3", "0.0.4", False),
        ("^0.0", "0.0.9", True),
        ("^0.0", "0.1.0", False),
        ("^0", "0.9.9", True),
        ("^0", "1.0.0", False),
        ("^1.2 || ^3", "3.1.0", True),
        ("^1.2 || ^3", "1.4.0", True),
        ("^1.2 || ^3", "2.0.0", False),
        # A range naming a pre-release admits pre-releases of that same MAJOR.MINOR.PATCH only (npm's rule).
        (">=1.2.0-rc.1 <2", "1.2.0-rc.2", True),
        (">=1.2.0-rc.1 <2", "1.2.0-rc.0", False),
        (">=1.2.0-rc.1 <2", "1.2.0", True),
        (">=1.2.0-rc.1 <2", "1.5.0", True),
        (">=1.2.0-rc.1 <2", "1.3.0-rc.1", False),
        ("^1.2.3-beta.2", "1.2.3-beta.4", True),
        ("^1.2.3-beta.2", "1.2.3-beta.1", False),
        ("=1.2.3-rc.1", "1.2.3-rc.1", True),
    ],
)
def test_semver_range_matching(range_text: str, tag: str, expected: bool) -> None:
    version = SemVer.parse(tag)
    assert version is not None
    assert parse_semver_range(range_text).contains(version) is expected


@pytest.mark.parametrize(
    ("range_text", "message"),
    [
        (">=", "cannot read '>='"),
        ("1.x", "'1.x' is not a version"),
        ("1.2.3 - 2", "'-' is not a version"),
        ("~>1.2", "cannot read '~>1.2'"),
        (">=1.2 ||", "empty alternative"),
        ("|| 1", "empty alternative"),
        ("latest", "'latest' is not a version"),
        ("1.2-rc1", "'1.2-rc1' is not a version"),
        ("01.2", "'01.2' is not a version"),
    ],
)
def test_semver_range_errors_say_what_is_wrong(range_text: str, message: str) -> None:
    with pytest.raises(ValueError, match="semver range") as caught:
        parse_semver_range(range_text)
    assert message in str(caught.value)


def test_semver_range_names_prerelease() -> None:
    assert parse_semver_range(">=1.2.0-rc.1").names_prerelease
    assert not parse_semver_range(">=1.2 <2 || ^3").names_prerelease


_numbers = st.integers(min_value=0, max_value=30)
_versions = st.builds(SemVer, _numbers, _numbers, _numbers)


@settings(database=None)
@given(_versions, _versions)
def test_semver_bounds_agree_with_tuple_order(low: SemVer, version: SemVer) -> None:
    assert parse_semver_range(f">={low}").contains(version) is (version.core >= low.core)
    assert parse_semver_range(f">{low}").contains(version) is (version.core > low.core)
    assert parse_semver_range(f"<{low}").contains(version) is (version.core < low.core)
    assert parse_semver_range(f"<={low}").contains(version) is (version.core <= low.core)
    assert parse_semver_range(f"={low}").contains(version) is (version == low)


@settings(database=None)
@given(_versions, _versions)
def test_semver_caret_and_tilde_agree_with_their_definition(base: SemVer, version: SemVer) -> None:
    at_least = version.core >= base.core
    if base.major > 0:
        caret = version.major == base.major
    elif base.minor > 0:
        caret = version.major == 0 and version.minor == base.minor
    else:
        caret = version.core == base.core
    tilde = version.major == base.major and version.minor == base.minor
    assert parse_semver_range(f"^{base}").contains(version) is (at_least and caret)
    assert parse_semver_range(f"~{base}").contains(version) is (at_least and tilde)


@settings(database=None)
@given(_versions, st.sampled_from(["rc.1", "alpha", "beta.2", "0"]))
def test_release_ranges_never_match_prereleases(base: SemVer, pre: str) -> None:
    prerelease = SemVer(base.major, base.minor, base.patch, tuple(pre.split(".")))
    for op in (">=", "<=", "^", "~", ">", "<"):
        assert not parse_semver_range(f"{op}{base} || >=0.0.0").contains(prerelease)


# --- patterns ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "tag", "expected"),
    [
        ("v*", "v1.2.3", True),
        ("v*", "V1.2.3", False),  # fnmatchcase: case matters, as in tags
        ("v*", "release-1", False),
        ("release-*", "release-2024.01", True),
        ("latest", "latest", True),
        ("latest", "latest2", False),
        ("[0-9]*", "2024-01-01", True),
        ("[!0-9]*", "2024-01-01", False),
        ("v?.?", "v1.2", True),
        ("re:v\\d+", "v12", True),
        ("re:v\\d+", "v12-rc", False),  # fullmatch, not search
        ("re:v\\d+", "xv12", False),
        ("re:^(main|develop)-[0-9a-f]{7}$", "main-abc1234", True),
        ("semver:>=1.2 <2", "v1.4.0", True),
        ("semver:>=1.2 <2", "1.4", False),  # not semver: never matches
        ("semver:>=1.2 <2", "latest", False),
        ("semver:  ^2  ", "2.3.4", True),
    ],
)
def test_tag_pattern_matching(pattern: str, tag: str, expected: bool) -> None:
    assert parse_tag_pattern(pattern).matches(tag) is expected


def test_tag_pattern_kinds() -> None:
    assert parse_tag_pattern("v*").kind == "glob"
    assert parse_tag_pattern("re:v.*").kind == "regex"
    semver = parse_tag_pattern("semver:>=1")
    assert semver.kind == "semver"
    assert semver.semver is not None
    assert semver.text == "semver:>=1"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("", "empty pattern"),
        ("re:", "empty regular expression"),
        ("re:(", "invalid regular expression: missing \\)"),
        ("semver:", "empty semver range"),
        ("semver:   ", "empty semver range"),
        ("semver:>=x", "'x' is not a version"),
        ("v* release-*", "contains ' '"),
        ("semver>=1.2", "contains '>'"),
        ("regex:v.*", "contains ':'"),
        ("shop/v1", "contains '/'"),
        ("^v1", "contains '\\^'"),
    ],
)
def test_tag_pattern_errors_say_what_is_wrong(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tag_pattern(pattern)


# --- policies ----------------------------------------------------------------------------------------------------


def test_default_policy_allows_every_tag_but_no_untagged_image() -> None:
    policy = TagPolicy()
    assert policy.allows("latest")
    assert policy.allows("anything-at-all")
    assert not policy.allows(None)


def test_allow_list_admits_only_matching_tags() -> None:
    policy = TagPolicy(allow=("v*", "release-*"))
    assert policy.allows("v1")
    assert policy.allows("release-7")
    assert not policy.allows("latest")
    assert not policy.allows(None)


def test_exclude_wins_over_allow() -> None:
    policy = TagPolicy(allow=("v*",), exclude=("*-rc*",))
    assert policy.allows("v1.0")
    assert not policy.allows("v1.0-rc1")


def test_exclude_alone_allows_everything_else() -> None:
    policy = TagPolicy(exclude=("*-rc*", "re:.*-dev"))
    assert policy.allows("latest")
    assert not policy.allows("1.0-rc1")
    assert not policy.allows("feature-dev")


def test_untagged_flag_decides_images_without_a_tag() -> None:
    assert TagPolicy(untagged=True).allows(None)
    assert TagPolicy(allow=("v*",), untagged=True).allows(None)
    assert not TagPolicy(allow=("v*",), untagged=False).allows(None)


def test_semver_policy() -> None:
    policy = TagPolicy(allow=("semver:>=1.2 <2",))
    assert policy.allows("v1.2.0")
    assert not policy.allows("1.2.0-rc1")
    assert not policy.allows("2.0.0")
    assert not policy.allows("latest")


@pytest.mark.parametrize(
    ("allow", "untagged", "expected"),
    [((), None, False), (("v*",), None, False), ((), False, False), ((), True, True), (("v*",), True, True)],
)
def test_with_defaults_untagged_is_opt_in(allow: tuple[str, ...], untagged: bool | None, expected: bool) -> None:
    assert TagPolicy.with_defaults(allow, (), untagged).untagged is expected


def test_with_defaults_drops_duplicate_patterns_in_order() -> None:
    policy = TagPolicy.with_defaults(["v*", "x", "v*"], ["a", "a"])
    assert policy.allow == ("v*", "x")
    assert policy.exclude == ("a",)


def test_invalid_pattern_fails_at_construction() -> None:
    with pytest.raises(ValueError, match="invalid regular expression"):
        TagPolicy(allow=("re:[",))
    with pytest.raises(ValueError, match="empty semver range"):
        TagPolicy(exclude=("semver:",))


def test_allows_any_needs_one_allowed_tag_and_treats_none_as_untagged() -> None:
    policy = TagPolicy(allow=("v*",), exclude=("*-rc*",))
    assert policy.allows_any(["latest", "v2"])
    assert not policy.allows_any(["latest", "v2-rc1"])
    assert not policy.allows_any([])
    assert TagPolicy(untagged=True).allows_any(iter(()))


@pytest.mark.parametrize(
    ("policy", "tag", "reason"),
    [
        (TagPolicy(exclude=("*-rc*",)), "1.0-rc1", "tag '1.0-rc1' matches exclude_tags '*-rc*'"),
        (TagPolicy(allow=("v*",)), None, "image has no tag and the rule does not set untagged: true"),
        (TagPolicy(untagged=True), None, "image has no tag and the rule allows untagged images"),
        (TagPolicy(allow=("v*", "release-*")), "latest", "tag 'latest' matches none of tags 'v*', 'release-*'"),
        (TagPolicy(allow=("v*", "release-*")), "release-2", "tag 'release-2' matches tags 'release-*'"),
        (TagPolicy(), "latest", "tag 'latest' is allowed (the rule has no tags allow-list)"),
        (TagPolicy(allow=("v*",), exclude=("*-rc*",)), "v1-rc1", "tag 'v1-rc1' matches exclude_tags '*-rc*'"),
        (
            TagPolicy(allow=("semver:>=1.2 <2",)),
            "latest",
            "tag 'latest' matches none of tags 'semver:>=1.2 <2' ('latest' is not a semantic version)",
        ),
        (
            TagPolicy(allow=("semver:>=1.2 <2",)),
            "1.3.0-rc1",
            "tag '1.3.0-rc1' matches none of tags 'semver:>=1.2 <2' (a pre-release matches a semver range only"
            " when the range names a pre-release of that version)",
        ),
        (
            TagPolicy(allow=("semver:>=1.2 <2",)),
            "3.0.0",
            "tag '3.0.0' matches none of tags 'semver:>=1.2 <2'",
        ),
    ],
)
def test_reason_explains_the_decision(policy: TagPolicy, tag: str | None, reason: str) -> None:
    assert policy.reason(tag) == reason


@pytest.mark.parametrize(
    ("policy", "text"),
    [
        (TagPolicy(), "any tag; untagged refused"),
        (TagPolicy(untagged=True), "any tag; untagged allowed"),
        (TagPolicy(allow=("v*", "release-*")), "tags 'v*', 'release-*'; untagged refused"),
        (TagPolicy(allow=("v*",), exclude=("*-rc*",), untagged=True), "tags 'v*' except '*-rc*'; untagged allowed"),
        (TagPolicy(exclude=("*-rc*",)), "any tag except '*-rc*'; untagged refused"),
    ],
)
def test_describe(policy: TagPolicy, text: str) -> None:
    assert policy.describe() == text


def test_policies_are_frozen_hashable_values() -> None:
    a = TagPolicy(allow=("v*",), exclude=("*-rc*",))
    b = TagPolicy(allow=("v*",), exclude=("*-rc*",))
    assert a == b
    assert hash(a) == hash(b)
    assert a != TagPolicy(allow=("v*",))
    assert "_allow" not in repr(a)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.untagged = True  # type: ignore[misc]
