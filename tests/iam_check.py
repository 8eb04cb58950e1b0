"""A small evaluator of identity policies (Allow statements only), for asserting what a policy permits.

Matching follows IAM: ``*`` matches any run of characters (``/`` and ``:`` included), ``?`` one character;
actions compare case-insensitively. Supported condition operators: StringEquals, ArnEquals, ArnLike; a
statement with a condition applies only when the request context holds a matching value for each key.
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
    """Return whether some Allow statement of `policy` grants `action` on `resource` in `context`."""
    return any(_grants(s, action, resource, context or {}) for s in policy["Statement"])


def actions(policy: Mapping[str, Any]) -> set[str]:
    """Return every action a policy names."""
    return {a for s in policy["Statement"] for a in _list(s["Action"])}


def resources_for(policy: Mapping[str, Any], action: str) -> set[str]:
    """Return the resources of the statements that name `action`."""
    return {r for s in policy["Statement"] if action in _list(s["Action"]) for r in _list(s["Resource"])}


def _grants(statement: Mapping[str, Any], action: str, resource: str, context: Mapping[str, str]) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if not any(wildcard(a, action, ignore_case=True) for a in _list(statement["Action"])):
        return False
    if not any(wildcard(r, resource) for r in _list(statement["Resource"])):
        return False
    for operator, tests in statement.get("Condition", {}).items():
        for key, wanted in tests.items():
            value = context.get(key)
            if value is None:
                return False
            if operator in ("StringEquals", "ArnEquals"):
                if value not in _list(wanted):
                    return False
            elif operator == "ArnLike":
                if not any(wildcard(w, value) for w in _list(wanted)):
                    return False
            else:
                raise AssertionError(f"condition operator {operator} is not supported here")
    return True


def _list(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
