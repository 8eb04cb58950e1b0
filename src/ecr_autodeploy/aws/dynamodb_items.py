"""DynamoDB plumbing for the ledger: expressions with every name and value aliased, and items as plain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Expr:
    """Builds one request's expressions with every attribute name and value aliased (``state``, ``owner``,
    ``region`` ... are DynamoDB reserved words)."""

    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)

    def name(self, attribute: str) -> str:
        alias = f"#n{len(self.names)}"
        self.names[alias] = attribute
        return alias

    def value(self, value: Any) -> str:
        alias = f":v{len(self.values)}"
        self.values[alias] = attribute_value(value)
        return alias

    def update(
        self,
        sets: Mapping[str, Any],
        removes: Sequence[str] = (),
        *,
        adds: Mapping[str, frozenset[str]] | None = None,
        deletes: Mapping[str, frozenset[str]] | None = None,
    ) -> str:
        """Return an UpdateExpression: SET (None values become REMOVE), REMOVE, and ADD/DELETE on string sets."""
        parts = []
        assigned = [f"{self.name(k)} = {self.value(v)}" for k, v in sets.items() if v is not None]
        if assigned:
            parts.append("SET " + ", ".join(assigned))
        dropped = [self.name(k) for k in (*removes, *(k for k, v in sets.items() if v is None))]
        if dropped:
            parts.append("REMOVE " + ", ".join(dropped))
        for clause, changes in (("ADD", adds), ("DELETE", deletes)):
            done = [f"{self.name(k)} {self.value(v)}" for k, v in (changes or {}).items() if v]
            if done:
                parts.append(f"{clause} " + ", ".join(done))
        return " ".join(parts)

    def params(self, **kwargs: Any) -> dict[str, Any]:
        out = dict(kwargs)
        if self.names:
            out["ExpressionAttributeNames"] = self.names
        if self.values:
            out["ExpressionAttributeValues"] = self.values
        return out


def key_of(pk: str) -> dict[str, Any]:
    """Return the key of the item with partition key `pk`."""
    return {"pk": {"S": pk}}


def attribute_value(value: Any) -> dict[str, Any]:
    """Return a Python value as a DynamoDB attribute value (BOOL, N or S)."""
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, frozenset | set):
        return {"SS": sorted(str(v) for v in value)}
    if isinstance(value, float):
        return {"N": repr(value)}
    if isinstance(value, int):
        return {"N": str(value)}
    return {"S": str(value)}


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """Return plain values as an item (None left out)."""
    return {k: attribute_value(v) for k, v in values.items() if v is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """Return an item's attributes as Python values (S, N, BOOL; anything else as stored)."""
    out: dict[str, Any] = {}
    for name, value in item.items():
        if "S" in value:
            out[name] = value["S"]
        elif "N" in value:
            text = str(value["N"])
            out[name] = int(text) if text.lstrip("-").isdigit() else float(text)
        elif "BOOL" in value:
            out[name] = bool(value["BOOL"])
        elif "SS" in value:
            out[name] = frozenset(str(v) for v in value["SS"])
        elif "NULL" in value:
            out[name] = None
        else:
            out[name] = value
    return out


def text(value: Any) -> str | None:
    """Return a value as text, None as None."""
    return None if value is None else str(value)


def number(value: Any) -> float | None:
    """Return a value as a float, None as None."""
    return None if value is None else float(value)
