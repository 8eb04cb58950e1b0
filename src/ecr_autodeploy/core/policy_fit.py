"""Policies that fit IAM's size limits: resource lists folded into shared-prefix wildcards, only when needed.

IAM counts a policy's characters without whitespace: a role's inline policies hold at most 10,240 together, a
managed policy (the permissions boundary) 6,144. Rules reaching hundreds of services list hundreds of ARNs. A
document over its limit is folded in two steps, each only while it is still too large:

1. names under the same parent (``service/prod/`` + ``api-a``, ``api-b``) become their longest common prefix
   and ``*`` (``service/prod/api-*``); a lone name stays exact;
2. the same one level up (``service/`` + ``prod/…``, ``prod-eu/…`` becomes ``service/prod*``).

Condition values (the pinned families of ``ecs:task-definition``) are folded the same way. What was folded is
said in the returned notes; a document still too large is a ConfigError that says why and what to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.policy import Policy

INLINE_POLICY_LIMIT = 10240  # IAM: characters of all of a role's inline policies together
MANAGED_POLICY_LIMIT = 6144  # IAM: characters of a managed policy document

Parent = Callable[[str], int]


def size(policy: Policy) -> int:
    """Return the characters IAM counts: the document without whitespace."""
    return len(json.dumps(policy, separators=(",", ":")))


def fit(policy: Policy, limit: int, what: str) -> tuple[Policy, tuple[str, ...]]:
    """Return `policy` folded until it holds at most `limit` characters, with notes naming what was widened.

    Raise ConfigError (naming `what`) when even the widest fold is too large.
    """
    if size(policy) <= limit:
        return policy, ()
    notes: list[str] = []
    for parent in (_last_slash, _first_slash):
        policy = _fold(policy, parent, notes)
        if size(policy) <= limit:
            return policy, tuple(notes)
    raise ConfigError(
        what,
        f"the policy takes {size(policy)} characters even with its resources folded into prefixes; IAM holds at "
        f"most {limit}: give the services (or repositories) shared name prefixes, or split the rules into "
        "installations (--name)",
    )


def _fold(policy: Policy, parent: Parent, notes: list[str]) -> Policy:
    statements = []
    for statement in policy["Statement"]:
        changed = dict(statement)
        resources = statement.get("Resource")
        if isinstance(resources, list):
            changed["Resource"] = _folded(resources, parent, statement.get("Sid", "?"), notes)
        if "Condition" in statement:
            changed["Condition"] = {
                operator: {
                    key: _folded(values, parent, statement.get("Sid", "?"), notes)
                    if isinstance(values, list)
                    else values
                    for key, values in tests.items()
                }
                for operator, tests in statement["Condition"].items()
            }
        statements.append(changed)
    return {**policy, "Statement": statements}


def _folded(values: Sequence[str], parent: Parent, sid: str, notes: list[str]) -> list[str]:
    groups: dict[str, list[str]] = {}
    for value in values:
        cut = parent(value)
        groups.setdefault(value[:cut] if cut > 0 else value, []).append(value)
    found: list[str] = []
    for members in groups.values():
        if len(members) == 1:
            found.append(members[0])
            continue
        prefix = _common_prefix(members).split("*", 1)[0].split("?", 1)[0]
        wildcard = prefix + "*"
        notes.append(f"{sid}: {len(members)} resources folded into {wildcard} to fit IAM's size limit")
        found.append(wildcard)
    return list(dict.fromkeys(found))


def _common_prefix(values: Sequence[str]) -> str:
    """Return the longest string every value starts with (character by character, as IAM's wildcards match)."""
    low, high = min(values), max(values)
    end = next((i for i, (a, b) in enumerate(zip(low, high, strict=False)) if a != b), len(low))
    return low[:end]


def _last_slash(arn: str) -> int:
    return arn.rfind("/") + 1


def _first_slash(arn: str) -> int:
    return arn.find("/") + 1
