"""Refuse regular expressions that can take exponential time: an ambiguous repeat inside a repeat.

Python's ``re`` backtracks, so ``^(a+)+$`` tried on "aaaa…a!" tries every way of splitting the a's between the
inner and the outer repeat: 24 characters take a second, 28 take 16. Rule regexes are matched against every
event's repository name and every repository a reconcile lists, so one such rule would hang them all.

The check reads the regex's parse tree (the ``re`` module's own parser). A repeat that can match more than once
(``*``, ``+``, ``{m,n}`` with n > 1) around another such repeat is refused, unless each round of the outer repeat
must also match a character the inner repeats cannot: ``(?:[^/]+/)*`` splits a name at its slashes in exactly
one way, so it is fine, while ``(a+)+`` and ``(\\w+\\s?)*`` are refused.
"""

from __future__ import annotations

import importlib
from typing import Any

from ecr_autodeploy.core.values import frozen

# The re module's parser; imported by name because typeshed has no stubs for it (sre_parse is deprecated).
_parser: Any = importlib.import_module("re._parser")
_c: Any = importlib.import_module("re._constants")
_REPEATS = frozenset(
    getattr(_c, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_c, name)
)
_DIGITS = frozenset(range(ord("0"), ord("9") + 1))
_WORD = frozenset([*range(ord("a"), ord("z") + 1), *range(ord("A"), ord("Z") + 1), *_DIGITS, ord("_")])
_SPACE = frozenset(ord(ch) for ch in " \t\n\r\f\v")

PROBLEM = (
    "nests a repeat inside a repeat (such as (a+)+ or (\\w+\\s?)*), which can take exponential time on some "
    "names; write it without the nesting, or end each round with a character the inner repeat cannot match"
)


@frozen
class _Chars:
    """A set of characters: `chars`, or every character but `chars` when `negated`."""

    chars: frozenset[int]
    negated: bool = False

    def union(self, other: _Chars) -> _Chars:
        if not self.negated and not other.negated:
            return _Chars(self.chars | other.chars)
        if self.negated and other.negated:
            return _Chars(self.chars & other.chars, True)
        plain, negated = (self, other) if other.negated else (other, self)
        return _Chars(negated.chars - plain.chars, True)

    def disjoint(self, other: _Chars) -> bool:
        if self.negated and other.negated:
            return False
        if not self.negated and not other.negated:
            return not self.chars & other.chars
        plain, negated = (self, other) if other.negated else (other, self)
        return plain.chars <= negated.chars


_NOTHING = _Chars(frozenset())
_ANYTHING = _Chars(frozenset(), True)


def nested_repeat(regex: str) -> bool:
    """Return whether `regex` (which compiles) repeats a part that holds an ambiguous repeat of its own."""
    return _scan(_parser.parse(regex))


def _scan(pattern: Any) -> bool:
    for op, av in pattern:
        if op in _REPEATS:
            _low, high, body = av
            if _many(high) and _inner_repeats(body) and not _separated(body):
                return True
            if _scan(body):
                return True
        elif any(_scan(part) for part in _subpatterns(op, av)):
            return True
    return False


def _many(high: Any) -> bool:
    return bool(high is _c.MAXREPEAT or high > 1)


def _inner_repeats(pattern: Any) -> list[Any]:
    """Return the bodies of the repeats (matching more than once) anywhere in `pattern`."""
    found = []
    for op, av in pattern:
        if op in _REPEATS:
            if _many(av[1]):
                found.append(av[2])
            found += _inner_repeats(av[2])
        else:
            for part in _subpatterns(op, av):
                found += _inner_repeats(part)
    return found


def _separated(body: Any) -> bool:
    """Return whether every round of `body` must match one character that no repeat inside it can match."""
    repeated = _NOTHING
    for inner in _inner_repeats(body):
        repeated = repeated.union(_consumed(inner))
    for op, av in _sequence(body):
        one = _single(op, av)
        if one is not None and one.disjoint(repeated):
            return True
    return False


def _sequence(pattern: Any) -> list[tuple[Any, Any]]:
    """Return the items `pattern` matches one after the other, with the groups among them opened up."""
    found: list[tuple[Any, Any]] = []
    for op, av in pattern:
        if op is _c.SUBPATTERN:
            found += _sequence(av[-1])
        else:
            found.append((op, av))
    return found


def _single(op: Any, av: Any) -> _Chars | None:
    """Return the characters a mandatory one-character item matches, or None for any other item."""
    if op is _c.LITERAL:
        return _Chars(frozenset({av}))
    if op is _c.NOT_LITERAL:
        return _Chars(frozenset({av}), True)
    if op is _c.IN:
        return _class(av)
    return None


def _consumed(pattern: Any) -> _Chars:
    """Return every character some part of `pattern` can match (an over-estimate is safe)."""
    found = _NOTHING
    for op, av in pattern:
        one = _single(op, av)
        if one is not None:
            found = found.union(one)
        elif op is _c.ANY or op is _c.GROUPREF:
            return _ANYTHING
        elif op in _REPEATS:
            found = found.union(_consumed(av[2]))
        else:
            for part in _subpatterns(op, av):
                found = found.union(_consumed(part))
    return found


def _class(items: Any) -> _Chars:
    chars: set[int] = set()
    negated = False
    for op, av in items:
        if op is _c.NEGATE:
            negated = True
        elif op is _c.LITERAL:
            chars.add(av)
        elif op is _c.RANGE:
            chars.update(range(av[0], av[1] + 1))
        elif op is _c.CATEGORY:
            category = _category(av)
            if category is None:
                return _ANYTHING if not negated else _Chars(frozenset(), False)
            chars.update(category)
        else:
            return _ANYTHING
    return _Chars(frozenset(chars), negated)


def _category(name: Any) -> frozenset[int] | None:
    """Return the ASCII characters of a positive category (digits, word, space); None for the negated ones."""
    text = str(name)
    for key, chars in (("DIGIT", _DIGITS), ("WORD", _WORD), ("SPACE", _SPACE)):
        if text.endswith(f"_{key}"):
            # Unicode word and digit classes are wider than ASCII: count them as anything (never "disjoint").
            return chars if "NOT" not in text and "UNI" not in text else None
    return None


def _subpatterns(op: Any, av: Any) -> list[Any]:
    """Return the parts of a parsed item that hold patterns of their own (groups, branches, lookarounds)."""
    if op is _c.SUBPATTERN:
        return [av[-1]]
    if op is _c.BRANCH:
        return list(av[1])
    if op in (_c.ASSERT, _c.ASSERT_NOT):
        return [av[1]]
    if op is _c.GROUPREF_EXISTS:
        return [part for part in av[1:] if part is not None]
    if op is getattr(_c, "ATOMIC_GROUP", object()):
        return [av]
    return []
