"""Tables fit the terminal, colour only on a terminal without NO_COLOR, JSON carries schema_version and the digest."""

from __future__ import annotations

import io
import json

import pytest

from ecr_autodeploy.cli import output
from ecr_autodeploy.cli.output import SCHEMA_VERSION, color_enabled, fit_widths, result_data, table, with_schema
from ecr_autodeploy.core.outcomes import Outcome, Result

LONG_REASON = "pin app to sha256:" + "0" * 64 + " because the rule says so, and a long explanation follows it"
ROWS = [
    ("deployed", "us-east-1/shop/api", "sha256:0123456789ab", "shop-api:3", LONG_REASON),
    ("failed", "111122223333:us-east-1/shop/a-very-long-service-name-indeed", "-", "shop-api:3", "x"),
]
HEADERS = ("STATUS", "TARGET", "DIGEST", "TASK DEFINITION", "REASON")


@pytest.mark.parametrize("width", [60, 80, 100, 140])
def test_a_table_fits_the_width_and_keeps_every_row(width: int) -> None:
    text = table(HEADERS, ROWS, width=width, color=False)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert lines[0].split()[0] == "STATUS"
    assert lines[1].startswith("--------")
    assert sum(1 for line in lines if line.startswith(("deployed", "failed"))) == 2


def test_the_last_column_wraps_rather_than_losing_its_end() -> None:
    text = table(HEADERS, ROWS, width=100, color=False)
    assert "long explanation follows it" in " ".join(text.split())


def test_shortened_cells_end_with_an_ellipsis() -> None:
    text = table(HEADERS, ROWS, width=80, color=False)
    assert "…" in text


def test_kept_columns_are_shortened_last() -> None:
    text = table(HEADERS, ROWS, width=110, color=False, keep=(1,))
    assert "111122223333:us-east-1/shop/a-very-long-service-name-indeed" in text
    assert max(len(line) for line in table(HEADERS, ROWS, width=60, color=False, keep=(1,)).splitlines()) <= 60


def test_a_narrow_table_is_left_as_it_is() -> None:
    text = table(("A", "B"), [("one", "two")], width=100, color=False)
    assert text.splitlines() == ["A    B", "---  ---", "one  two"]


def test_fit_widths_shrinks_the_widest_first() -> None:
    assert fit_widths([10, 50, 10], [8, 8, 8], 50) == [10, 26, 10]


def test_colour_only_on_a_terminal_and_never_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert color_enabled(Terminal())
    assert not color_enabled(io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not color_enabled(Terminal())


def test_states_are_coloured_when_colour_is_on() -> None:
    text = table(HEADERS, ROWS, width=200, color=True)
    assert "\x1b[32mdeployed\x1b[0m" in text
    assert "\x1b[31m\x1b[1mfailed\x1b[0m" in text
    assert "\x1b[" not in table(HEADERS, ROWS, width=200, color=False)


def test_json_objects_carry_the_schema_version(capsys: pytest.CaptureFixture[str]) -> None:
    output.echo_json({"b": 1})
    assert json.loads(capsys.readouterr().out) == {"schema_version": SCHEMA_VERSION, "b": 1}
    assert with_schema({"schema_version": 9, "a": 1}) == {"schema_version": SCHEMA_VERSION, "a": 1}


def test_the_result_carries_the_resolved_digest_at_the_top() -> None:
    digest = "sha256:" + "a" * 64
    outcomes = (Outcome("planned", "x", digest=digest), Outcome("planned", "y", digest=digest))
    result = Result("manual-1", "manual", "shop/api", "v1", None, outcomes)
    assert result.to_dict()["digest"] is None  # what the engine knows: the event named a tag
    assert result_data(result)["digest"] == digest
