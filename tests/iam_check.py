"""A small evaluator of identity policies, for asserting what a policy permits.

Matching follows IAM: ``*`` matches any run of characters (``/`` and ``:`` included), ``?`` one character;
actions compare case-insensitively; an explicit Deny wins over any Allow. Supported condition operators:
StringEquals, StringLike, ArnEquals, ArnLike, ArnNotEquals, ArnNotLike, their ``IfExists`` forms, and Null. A
condition on a key the request context lacks does not match (``IfExists``: matches), as in IAM.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any


def wildcard(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    """Return whether an IAM wildcard pattern matches a value."""
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def allows(policy: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str] | None = None) -> bool:
    """Return whether `policy` grants `action` on `resource` in `context`: some Allow applies and no Deny does."""
    found = context or {}
    applies = [s for s in policy["Statement"] if _applies(s, action, resource, found)]
    return any(s["Effect"] == "Allow" for s in applies) and not any(s["Effect"] == "Deny" for s in applies)


def actions(policy: Mapping[str, Any]) -> set[str]:
    """Return every action the Allow statements of a policy name."""
    return {a for s in policy["Statement"] if s["Effect"] == "Allow" for a in _list(s["Action"])}


def resources_for(policy: Mapping[str, Any], action: str) -> set[str]:
    """Return the resources of the Allow statements that name `action`."""
    return {
        r
        for s in policy["Statement"]
        if s["Effect"] == "Allow" and action in _list(s["Action"])
        for r in _list(s["Resource"])
    }


def _applies(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    if not any(wildcard(a, action, ignore_case=True) for a in _list(statement["Action"])):
        return False
    if not any(wildcard(r, resource) for r in _list(statement["Resource"])):
        return False
    return all(
        _holds(operator, key, _list(wanted), context.get(key))
        for operator, tests in statement.get("Condition", {}).items()
        for key, wanted in tests.items()
    )


def _holds(operator: str, key: str, wanted: list[str], value: str | None) -> bool:
    if operator == "Null":
        return (value is None) == (wanted == ["true"])
    base = operator.removesuffix("IfExists")
    if value is None:
        return base != operator or base.startswith(("ArnNot", "StringNot"))
    if base in ("StringEquals", "ArnEquals"):
        return value in wanted
    if base in ("StringLike", "ArnLike"):
        return any(wildcard(w, value) for w in wanted)
    if base == "ArnNotEquals":
        return value not in wanted
    if base == "ArnNotLike":
        return not any(wildcard(w, value) for w in wanted)
    raise AssertionError(f"condition operator {operator} is not supported here")


def _list(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
