"""Hostile input files through the CLI: each is one `Error:` line naming the file, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ecr_autodeploy.cli.main import cli


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('{"id": ' + "9" * 5000 + "}", "a value JSON cannot be read here"),
        ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels deep"),
        ('{"id": "a", "id": "b"}', "duplicate key 'id'"),
        ('{"id": ', "invalid JSON at line 1"),
    ],
    ids=["huge-integer", "deep-nesting", "duplicate-key", "truncated"],
)
def test_replay_of_a_hostile_event_file_is_an_error_naming_it(tmp_path: Path, text: str, words: str) -> None:
    event = tmp_path / "event.json"
    event.write_text(text)
    rules = tmp_path / "rules.json"
    rules.write_text('{"rules": [{"repository": "shop/api", "targets": [{"cluster": "c", "service": "s"}]}]}')
    result = CliRunner().invoke(cli, ["--region", "us-east-1", "replay", str(event), "--config", str(rules)])
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"Error: {event}: ")
    assert words in result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_validate_of_an_alias_bomb_is_an_error_naming_the_limit(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text(
        "rules: [{repository: a1, targets: [{cluster: c, service: s}]}]\nnotify: {" + ", ".join(lines) + "}\n"
    )
    result = CliRunner().invoke(cli, ["validate", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {path}: more than 100000 values once its aliases are expanded")
