"""Text to data: a rules document in JSON, or in YAML when the text is not JSON; errors name the source.

JSON is read with the standard library; YAML needs PyYAML, which only the CLI has (the Lambda reads the rules as
JSON: install embeds them so). Duplicate keys are errors in both.
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from ecr_autodeploy.core.errors import ConfigError


def load_text(text: str, source: str) -> object:
    """Return the data of a JSON or YAML text; raise ConfigError naming the source (and line and column)."""
    text = text.removeprefix("\ufeff")
    try:
        return load_json(text, source)
    except json.JSONDecodeError as json_error:
        try:
            return load_yaml(text, source)
        except ConfigError:
            # Text that opens like JSON was meant as JSON: its error is the one that helps.
            if text.lstrip().startswith(("{", "[")):
                raise json_failure(json_error, source) from None
            raise


def load_json(text: str, source: str) -> object:
    """Return the parsed JSON; raise json.JSONDecodeError, or ConfigError on a duplicate key."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise ConfigError(source, f"duplicate key {key!r}")
            result[key] = value
        return result

    return json.loads(text, object_pairs_hook=pairs)


def json_failure(exc: json.JSONDecodeError, source: str) -> ConfigError:
    """Return the ConfigError of text that is not JSON, naming the line and column."""
    return ConfigError(source, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")


def load_yaml(text: str, source: str) -> object:
    """Return the parsed YAML; raise ConfigError naming the source, line and column when it does not parse."""
    try:
        import yaml
    except ImportError:
        raise ConfigError(
            source, "not JSON, and PyYAML is not installed to read it as YAML (install PyYAML or write JSON)"
        ) from None

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate keys instead of keeping the last one silently."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
            seen: dict[tuple[str, str], int] = {}
            for key_node, _value in node.value:
                # Merge keys ("<<") may be overridden on purpose, so only explicit scalar keys are compared.
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != "tag:yaml.org,2002:merge":
                    ident = (key_node.tag, key_node.value)
                    line = key_node.start_mark.line + 1
                    if ident in seen:
                        raise ConfigError(
                            source, f"duplicate key {key_node.value!r} at line {line} (first at line {seen[ident]})"
                        )
                    seen[ident] = line
            return super().construct_mapping(node, deep=deep)

    try:
        return yaml.load(text, Loader=StrictLoader)
    except yaml.YAMLError as exc:
        raise ConfigError(source, f"invalid YAML{_yaml_where(exc)}") from None


def _yaml_where(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"
