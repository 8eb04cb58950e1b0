"""Typed access to the fields of a loaded rules document, raising ConfigError that names source, rule and field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecr_autodeploy.core.errors import ConfigError


class Reader:
    """Typed access to one rule (or the top level) that raises ConfigError naming source, rule and field."""

    def __init__(self, source: str, rule: int | None) -> None:
        self.source = source
        self.rule = rule

    def fail(self, path: str, problem: str) -> ConfigError:
        return ConfigError(self.source, problem, rule=self.rule, field=path or None)

    def check_keys(self, data: Mapping[Any, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in data:
            if key not in allowed:
                import difflib  # only for the message: a valid document never needs it

                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise self.fail(f"{prefix}{key}", f"unknown key ({hint}known keys: {', '.join(allowed)})")

    def text(self, data: Mapping[str, Any], key: str, path: str) -> str:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, expected("a non-empty string", value))
        return value

    def optional_text(self, data: Mapping[str, Any], key: str, path: str) -> str | None:
        return None if data.get(key) is None else self.text(data, key, path)

    def flag(self, data: Mapping[str, Any], key: str, path: str) -> bool | None:
        value = data.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.fail(path, expected("true or false", value))
        return value

    def text_list(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            return None
        if not isinstance(value, list | tuple):
            raise self.fail(path, expected("a list of strings", value))
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                raise self.fail(f"{path}[{i}]", expected("a non-empty string", item))
        return tuple(dict.fromkeys(value))


def kind_of(value: object) -> str:
    """Return the document-level name of a value's type (YAML/JSON words, not Python's)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"a {type(value).__name__}"


def expected(what: str, value: object) -> str:
    """Return the problem of a value that is not `what`: missing, empty, or of another type."""
    if value is None:
        return f"missing (expected {what})"
    if isinstance(value, str) and not value.strip():
        return f"empty (expected {what})"
    return f"expected {what}, got {kind_of(value)}"


def clip(value: str, limit: int = 80) -> str:
    """Return `value`, cut to `limit` characters (with "...") so that messages stay short."""
    return value if len(value) <= limit else value[:limit] + "..."
