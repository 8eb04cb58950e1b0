"""Text to data: a rules document in JSON, or in YAML when the text is not JSON; errors name the source.

JSON is read with the standard library; YAML needs PyYAML, which only the CLI has (the Lambda reads the rules as
JSON: install embeds them so). Duplicate keys are errors in both, and YAML keys are always read as text (``on:``
is the key "on", not the boolean true).

Limits, so that a hostile or broken file fails fast with a ConfigError instead of a RecursionError, a hang or
gigabytes of memory: at most MAX_TEXT_CHARS characters, MAX_DEPTH levels of nesting, and MAX_NODES values once
YAML aliases are expanded (a "billion laughs" document is a few hundred bytes that expand to millions of values;
its size is counted on the node graph, without expanding it).
"""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import Any

from ecr_autodeploy.core.errors import ConfigError

MAX_TEXT_CHARS = 1_000_000
MAX_DEPTH = 32  # a rules document needs 6 (rules, a rule, targets, a target, containers, a name)
MAX_NODES = 100_000  # values after YAML aliases are expanded; 1,000 rules of 10 targets stay well under it


def load_text(text: str, source: str) -> object:
    """Return the data of a JSON or YAML text; raise ConfigError naming the source (and line and column)."""
    text = text.removeprefix("\ufeff")
    _check_size(text, source)
    try:
        return _checked(_load_json(text, source), source)
    except json.JSONDecodeError as json_error:
        try:
            return load_yaml(text, source)
        except ConfigError:
            # Text that opens like JSON was meant as JSON: its error is the one that helps.
            if text.lstrip().startswith(("{", "[")):
                raise json_failure(json_error, source) from None
            raise


def load_json(text: str, source: str) -> object:
    """Return the data of a JSON text; raise ConfigError naming the source (syntax, duplicate keys, limits)."""
    _check_size(text, source)
    try:
        return _checked(_load_json(text, source), source)
    except json.JSONDecodeError as exc:
        raise json_failure(exc, source) from None


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

    merge_tag = "tag:yaml.org,2002:merge"

    class StrictLoader(yaml.SafeLoader):
        """SafeLoader that reads keys as text and refuses duplicate keys instead of keeping the last one."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Hashable, Any]:
            seen: dict[str, int] = {}
            for key_node, _value in node.value:
                # Merge keys ("<<") may be overridden on purpose, so only explicit scalar keys are compared.
                if isinstance(key_node, yaml.ScalarNode) and key_node.tag != merge_tag:
                    line = key_node.start_mark.line + 1
                    if key_node.value in seen:
                        raise ConfigError(
                            source,
                            f"duplicate key {key_node.value!r} at line {line} (first at line {seen[key_node.value]})",
                        )
                    seen[key_node.value] = line
            self.flatten_mapping(node)
            mapping: dict[Hashable, Any] = {}
            for key_node, value_node in node.value:
                # YAML 1.1 reads the plain keys on, off, yes, no (and 1, null...) as other types; a rules
                # document's keys are names, so a scalar key is always its own text.
                if isinstance(key_node, yaml.ScalarNode):
                    key: Any = key_node.value
                else:
                    key = self.construct_object(key_node, deep=deep)
                    if not isinstance(key, Hashable):
                        raise ConfigError(source, f"a {type(key).__name__} cannot be a key (line {_line(key_node)})")
                mapping[key] = self.construct_object(value_node, deep=deep)
            return mapping

    try:
        loader = StrictLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_graph(node, source, yaml)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError(source, f"invalid YAML{_yaml_where(exc)}") from None
    except RecursionError:
        raise ConfigError(source, f"nested more than {MAX_DEPTH} levels deep") from None


def _load_json(text: str, source: str) -> object:
    """Return the parsed JSON; raise json.JSONDecodeError, or ConfigError on a duplicate key or a limit."""

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise ConfigError(source, f"duplicate key {key!r}")
            result[key] = value
        return result

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except RecursionError:
        raise ConfigError(source, f"nested more than {MAX_DEPTH} levels deep") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        # Python refuses integers of more than 4,300 digits (int_max_str_digits): a number no rule holds.
        raise ConfigError(source, f"a value JSON cannot be read here: {str(exc)[:120]}") from None


def _check_size(text: str, source: str) -> None:
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(source, f"{len(text)} characters; a rules document takes at most {MAX_TEXT_CHARS}")


def _checked(data: object, source: str) -> object:
    """Return `data` when it is at most MAX_DEPTH deep and holds at most MAX_NODES values; raise ConfigError."""
    count = 0
    pending: list[tuple[object, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise ConfigError(source, f"nested more than {MAX_DEPTH} levels deep")
        if count > MAX_NODES:
            raise ConfigError(source, f"more than {MAX_NODES} values")
        if isinstance(value, dict):
            pending.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            pending.extend((item, depth + 1) for item in value)
    return data


def _check_graph(root: Any, source: str, yaml: Any) -> None:
    """Raise ConfigError when the YAML node graph, aliases expanded, is too deep or holds too many values.

    An alias is the same node object again, so sizes and depths are computed once per node (memoised), in
    post-order without recursion; a node that refers to itself is refused.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id(node) -> (values, depth) with aliases expanded
    on_path: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        ident = id(node)
        if ident in sizes:
            continue
        children = _children(node, yaml)
        if not children_done:
            if ident in on_path:
                raise ConfigError(source, f"a YAML alias refers to itself (line {_line(node)})")
            on_path.add(ident)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        on_path.discard(ident)
        values = 1 + sum(sizes[id(child)][0] for child in children)
        depth = 1 + max((sizes[id(child)][1] for child in children), default=0)
        if depth > MAX_DEPTH:
            raise ConfigError(source, f"nested more than {MAX_DEPTH} levels deep (line {_line(node)})")
        if values > MAX_NODES:
            raise ConfigError(
                source, f"more than {MAX_NODES} values once its aliases are expanded (line {_line(node)})"
            )
        sizes[ident] = (values, depth)


def _children(node: Any, yaml: Any) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _line(node: Any) -> int:
    return int(node.start_mark.line) + 1


def _yaml_where(exc: Exception) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    if mark is None:
        return f": {problem}"
    return f" at line {mark.line + 1}, column {mark.column + 1}: {problem}"
