"""The change a deploy makes to a task definition, field by field (pure): what `diff`, `plan` and dry runs show.

A pinned deploy registers a copy of the running revision with new images and two tags; this compares that
copy (``Plan.register``) with the running revision, ignoring the fields ECS fills in on registration. Lists of
named things (containers, environment variables, secrets, tags) are compared by name, so a change reads
``containerDefinitions[app].image`` rather than ``containerDefinitions[0].image``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from ecr_autodeploy.core.planning import READ_ONLY_FIELDS
from ecr_autodeploy.core.values import frozen

Kind = Literal["added", "removed", "changed"]
_KEYS = ("name", "key", "containerName", "sourceVolume")  # what names an item of a list, in this order


class _Missing:
    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


@frozen
class Change:
    """One field that differs: its path, the value before and after (None when absent)."""

    path: str
    before: Any
    after: Any
    kind: Kind

    def to_dict(self) -> dict[str, Any]:
        """Return the change as JSON-ready data."""
        return {"path": self.path, "kind": self.kind, "before": self.before, "after": self.after}


def registration(body: Mapping[str, Any], tags: Sequence[Mapping[str, str]] = ()) -> dict[str, Any]:
    """Return a revision as RegisterTaskDefinition parameters (read-only fields dropped, tags included)."""
    found = {k: v for k, v in body.items() if k not in READ_ONLY_FIELDS}
    if tags:
        found["tags"] = [dict(t) for t in tags]
    return found


def task_definition_diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[Change, ...]:
    """Return every field that differs between two registrations, in document order."""
    changes: list[Change] = []
    _walk("", _plain(before), _plain(after), changes)
    return tuple(changes)


def _plain(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k not in READ_ONLY_FIELDS and v not in (None, [], {})}


def _walk(path: str, a: Any, b: Any, out: list[Change]) -> None:
    if a == b:
        return
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in dict.fromkeys([*a, *b]):
            _walk(f"{path}.{key}" if path else str(key), a.get(key, MISSING), b.get(key, MISSING), out)
        return
    if (isinstance(a, list) and b is MISSING) or (a is MISSING and isinstance(b, list)):
        # A list that appears or goes (the first tags of a revision): item by item, like any other list.
        a, b = (a if a is not MISSING else []), (b if b is not MISSING else [])
    if isinstance(a, list) and isinstance(b, list):
        key = _list_key(a, b)
        if key is not None:
            left = {str(item[key]): item for item in a}
            right = {str(item[key]): item for item in b}
            for name in dict.fromkeys([*left, *right]):
                _walk(f"{path}[{name}]", left.get(name, MISSING), right.get(name, MISSING), out)
            return
        if len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                _walk(f"{path}[{i}]", x, y, out)
            return
    kind: Kind = "added" if a is MISSING else "removed" if b is MISSING else "changed"
    out.append(Change(path, None if a is MISSING else a, None if b is MISSING else b, kind))


def _list_key(a: list[Any], b: list[Any]) -> str | None:
    """Return the field that names every item of both lists uniquely, or None (compare by position)."""
    items = [*a, *b]
    if not items or not all(isinstance(i, Mapping) for i in items):
        return None
    for key in _KEYS:
        if all(key in i for i in items) and all(len({str(i[key]) for i in side}) == len(side) for side in (a, b)):
            return key
    return None
