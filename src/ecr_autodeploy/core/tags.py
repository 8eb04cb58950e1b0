"""Tag policies: which image tags a rule deploys.

A pattern is one of
  * a glob, matched with ``fnmatch.fnmatchcase`` (``v*``, ``release-*``, ``[0-9]*``);
  * ``re:REGEX``, a Python regular expression that must match the whole tag;
  * ``semver:RANGE``, space-separated comparators that must all hold (``>=1.2 <2``), alternatives joined by
    ``||``. Operators: ``>=``, ``>``, ``<=``, ``<``, ``=`` / ``==`` (or none: exact), ``~`` (patch updates),
    ``^`` (compatible updates). Partial versions follow npm: ``<=1.2`` is ``<1.3.0``, ``=1`` is ``>=1.0.0 <2.0.0``.
    The tag may carry a leading ``v``; a tag that is not a full ``MAJOR.MINOR.PATCH[-PRE]`` version never matches.
    As in npm, a pre-release tag (``1.2.0-rc1``) matches only a range that names a pre-release of the same
    ``MAJOR.MINOR.PATCH`` (``>=1.2.0-rc0``), so ``>=1.2 <2`` does not deploy release candidates.
https://semver.org/#spec-item-11
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable
from dataclasses import field
from typing import Literal

from ecr_autodeploy.core.lazy_re import Lazy
from ecr_autodeploy.core.regex_safety import PROBLEM, nested_repeat
from ecr_autodeploy.core.values import frozen

PatternKind = Literal["glob", "regex", "semver"]
Operator = Literal[">=", ">", "<=", "<", "="]

REGEX_PREFIX = "re:"
SEMVER_PREFIX = "semver:"

# Characters an image tag may hold, plus the glob metacharacters; anything else can never match a tag.
_GLOB_CHARS = Lazy(r"[A-Za-z0-9_.\-*?\[\]!]*")
_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_SEMVER_RE = Lazy(
    rf"v?(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-({_IDENT}(?:\.{_IDENT})*))?(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
_PARTIAL_RE = Lazy(
    rf"v?(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*)(?:-({_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?)?)?"
)
_COMPARATOR_RE = Lazy(r"(>=|<=|==|>|<|=|~|\^)?\s*([^\s<>=~^|]+)")


@frozen
class SemVer:
    """A semantic version; build metadata is dropped because it plays no part in precedence."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> SemVer | None:
        """Return the version a tag such as ``v1.2.3-rc.1`` names, or None when it is not semver."""
        match = _SEMVER_RE.fullmatch(text)
        if match is None:
            return None
        pre = tuple(match.group(4).split(".")) if match.group(4) else ()
        return cls(int(match.group(1)), int(match.group(2)), int(match.group(3)), pre)

    @property
    def core(self) -> tuple[int, int, int]:
        """Return (major, minor, patch)."""
        return self.major, self.minor, self.patch

    @property
    def key(self) -> tuple[int, int, int, int, tuple[tuple[int, int, str], ...]]:
        """Return a key whose ordering is semver precedence."""
        # A release sorts after its pre-releases; numeric identifiers sort before alphanumeric ones.
        pre = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in self.prerelease)
        return self.major, self.minor, self.patch, 0 if self.prerelease else 1, pre

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}-{'.'.join(self.prerelease)}" if self.prerelease else base


@frozen
class Comparator:
    """One bound of a range, on a full version."""

    op: Operator
    version: SemVer

    def holds(self, version: SemVer) -> bool:
        """Return whether `version` satisfies this bound."""
        a, b = version.key, self.version.key
        if self.op == ">=":
            return a >= b
        if self.op == ">":
            return a > b
        if self.op == "<=":
            return a <= b
        if self.op == "<":
            return a < b
        return a == b


@frozen
class SemverRange:
    """Alternatives (``||``) of comparator sets; a version matches when every comparator of one set holds."""

    text: str
    alternatives: tuple[tuple[Comparator, ...], ...]

    def contains(self, version: SemVer) -> bool:
        """Return whether `version` is in the range, applying the npm pre-release rule."""
        return any(_set_contains(comparators, version) for comparators in self.alternatives)

    @property
    def names_prerelease(self) -> bool:
        """Return whether any comparator names a pre-release version."""
        return any(c.version.prerelease for comparators in self.alternatives for c in comparators)


def _set_contains(comparators: tuple[Comparator, ...], version: SemVer) -> bool:
    if not all(c.holds(version) for c in comparators):
        return False
    if not version.prerelease:
        return True
    return any(c.version.prerelease and c.version.core == version.core for c in comparators)


def parse_semver_range(text: str) -> SemverRange:
    """Return the range `text` describes (e.g. ``>=1.2 <2``); raise ValueError saying what is wrong."""
    alternatives: list[tuple[Comparator, ...]] = []
    for part in text.split("||"):
        part = part.strip()
        if not part:
            raise ValueError(f"semver range {text!r} has an empty alternative (expected e.g. '>=1.2 <2')")
        comparators: list[Comparator] = []
        pos = 0
        while pos < len(part):
            match = _COMPARATOR_RE.match(part, pos)
            if match is None:
                raise ValueError(f"semver range {text!r}: cannot read {part[pos:]!r} (expected e.g. '>=1.2 <2')")
            comparators.extend(_desugar(match.group(1) or "=", match.group(2), text))
            pos = match.end()
            while pos < len(part) and part[pos].isspace():
                pos += 1
        alternatives.append(tuple(comparators))
    return SemverRange(text, tuple(alternatives))


def _desugar(op: str, version_text: str, whole: str) -> list[Comparator]:
    match = _PARTIAL_RE.fullmatch(version_text)
    if match is None:
        raise ValueError(f"semver range {whole!r}: {version_text!r} is not a version such as 1, 1.2 or 1.2.3")
    given = [int(g) for g in match.group(1, 2, 3) if g is not None]
    pre = tuple(match.group(4).split(".")) if match.group(4) else ()
    padded = given + [0] * (3 - len(given))
    lower = SemVer(padded[0], padded[1], padded[2], pre)
    full = len(given) == 3
    bumped = _bump(given, len(given) - 1)
    if op in ("=", "=="):
        return [Comparator("=", lower)] if full else [Comparator(">=", lower), Comparator("<", bumped)]
    if op == ">=":
        return [Comparator(">=", lower)]
    if op == ">":
        return [Comparator(">", lower)] if full else [Comparator(">=", bumped)]
    if op == "<":
        return [Comparator("<", lower)]
    if op == "<=":
        return [Comparator("<=", lower)] if full else [Comparator("<", bumped)]
    if op == "~":
        # ~1.2.3 and ~1.2 allow patch updates; ~1 allows minor updates.
        return [Comparator(">=", lower), Comparator("<", _bump(given, min(1, len(given) - 1)))]
    # ^: updates that keep the left-most non-zero part; all parts zero bumps the last one given.
    nonzero = next((i for i, part in enumerate(given) if part != 0), len(given) - 1)
    return [Comparator(">=", lower), Comparator("<", _bump(given, nonzero))]


def _bump(given: list[int], index: int) -> SemVer:
    parts = [*given[:index], given[index] + 1]
    parts += [0] * (3 - len(parts))
    return SemVer(parts[0], parts[1], parts[2])


@frozen
class TagPattern:
    """One validated tag pattern: a glob, a ``re:`` regex or a ``semver:`` range."""

    text: str
    kind: PatternKind
    regex: re.Pattern[str] | None = None
    semver: SemverRange | None = None

    def matches(self, tag: str) -> bool:
        """Return whether `tag` matches this pattern."""
        if self.regex is not None:
            return self.regex.fullmatch(tag) is not None
        if self.semver is not None:
            version = SemVer.parse(tag)
            return version is not None and self.semver.contains(version)
        return fnmatch.fnmatchcase(tag, self.text)


def parse_tag_pattern(text: str) -> TagPattern:
    """Return the validated pattern; raise ValueError saying what is wrong with it."""
    if text.startswith(REGEX_PREFIX):
        body = text[len(REGEX_PREFIX) :]
        if not body:
            raise ValueError(f"{text!r}: empty regular expression after 're:'")
        try:
            regex = re.compile(body)
        except re.error as exc:
            raise ValueError(f"{text!r}: invalid regular expression: {exc}") from None
        if nested_repeat(body):
            raise ValueError(f"{text!r}: the regular expression {PROBLEM}")
        return TagPattern(text, "regex", regex=regex)
    if text.startswith(SEMVER_PREFIX):
        body = text[len(SEMVER_PREFIX) :].strip()
        if not body:
            raise ValueError(f"{text!r}: empty semver range after 'semver:' (expected e.g. 'semver:>=1.2 <2')")
        return TagPattern(text, "semver", semver=parse_semver_range(body))
    if not text:
        raise ValueError("empty pattern")
    if not _GLOB_CHARS.fullmatch(text):
        bad = next(ch for ch in text if not _GLOB_CHARS.fullmatch(ch))
        raise ValueError(
            f"glob {text!r} contains {bad!r}, which no image tag can contain (tags use letters, digits, '_', '.',"
            " '-'); write 're:REGEX' or 'semver:RANGE' for those forms"
        )
    return TagPattern(text, "glob")


@frozen
class TagPolicy:
    """Which tags deploy: any tag matching `allow` (every tag when empty) and no pattern of `exclude`.

    `untagged` says whether an image with no tag (pushed by digest) may deploy. It defaults to False everywhere:
    an untagged push is most often one platform's manifest of a multi-architecture push, and deploying it would
    pin one CPU architecture; the tagged image index that follows is the one to deploy.
    Raises ValueError on construction when a pattern is invalid.
    """

    allow: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    untagged: bool = False
    _allow: tuple[TagPattern, ...] = field(init=False, repr=False, compare=False)
    _exclude: tuple[TagPattern, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow", tuple(parse_tag_pattern(p) for p in self.allow))
        object.__setattr__(self, "_exclude", tuple(parse_tag_pattern(p) for p in self.exclude))

    @classmethod
    def with_defaults(
        cls, allow: Iterable[str] = (), exclude: Iterable[str] = (), untagged: bool | None = None
    ) -> TagPolicy:
        """Return a policy with `untagged` defaulted as rules files do; raise ValueError on a bad pattern."""
        allow = tuple(dict.fromkeys(allow))
        exclude = tuple(dict.fromkeys(exclude))
        return cls(allow, exclude, bool(untagged))

    def allows(self, tag: str | None) -> bool:
        """Return whether an image with this tag (None: no tag) may deploy."""
        if tag is None:
            return self.untagged
        if self._allow and not any(p.matches(tag) for p in self._allow):
            return False
        return not any(p.matches(tag) for p in self._exclude)

    def allows_any(self, tags: Iterable[str]) -> bool:
        """Return whether an image carrying these tags may deploy: one allowed tag suffices; none means untagged."""
        tags = list(tags)
        return any(self.allows(t) for t in tags) if tags else self.untagged

    @property
    def has_semver(self) -> bool:
        """Return True when an allowed pattern is a ``semver:`` range (the rule is about versions)."""
        return any(p.kind == "semver" for p in self._allow)

    def first_allowed(self, tags: Iterable[str]) -> str | None:
        """Return the first of these tags the policy allows (None for none, or an untagged image)."""
        return next((tag for tag in tags if self.allows(tag)), None)

    def reason(self, tag: str | None) -> str:
        """Return why this tag is refused (or, when it is allowed, why it is)."""
        if tag is None:
            if self.untagged:
                return "image has no tag and the rule allows untagged images"
            return "image has no tag and the rule does not set untagged: true"
        if self._allow:
            hit = next((p for p in self._allow if p.matches(tag)), None)
            if hit is None:
                return f"tag {tag!r} matches none of tags {_quoted(self.allow)}{self._hint(tag)}"
            why = f"tag {tag!r} matches tags {hit.text!r}"
        else:
            why = f"tag {tag!r} is allowed (the rule has no tags allow-list)"
        excluded = next((p for p in self._exclude if p.matches(tag)), None)
        if excluded is not None:
            return f"tag {tag!r} matches exclude_tags {excluded.text!r}"
        return why

    def _hint(self, tag: str) -> str:
        ranges = [p.semver for p in self._allow if p.semver is not None]
        if not ranges:
            return ""
        version = SemVer.parse(tag)
        if version is None:
            return f" ({tag!r} is not a semantic version)"
        if version.prerelease and any(r.contains(SemVer(*version.core)) for r in ranges):
            return " (a pre-release matches a semver range only when the range names a pre-release of that version)"
        return ""

    def describe(self) -> str:
        """Return a short human description, e.g. ``tags 'v*' except '*-rc*'; untagged refused``."""
        text = f"tags {_quoted(self.allow)}" if self.allow else "any tag"
        if self.exclude:
            text += f" except {_quoted(self.exclude)}"
        return text + ("; untagged allowed" if self.untagged else "; untagged refused")


def _quoted(patterns: Iterable[str]) -> str:
    return ", ".join(repr(p) for p in patterns)
