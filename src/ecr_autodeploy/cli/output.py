"""Printing results: aligned tables for people, JSON for pipes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from ecr_autodeploy.outcomes import Outcome


def echo_json(data: Any) -> None:
    """Print data as indented JSON on stdout."""
    click.echo(json.dumps(data, indent=2, sort_keys=True, default=str))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Return rows as a plain aligned text table."""
    cells = [[str(h) for h in headers], *[["" if c is None else str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def short_digest(digest: str | None) -> str:
    """Return sha256:abcdef123456 (12 hex digits) for display."""
    return digest[:19] if digest else "-"


def outcomes_table(outcomes: Sequence[Outcome]) -> str:
    """Return the outcomes of one event as a table."""
    rows = [
        (
            o.status,
            o.target or "-",
            short_digest(o.digest),
            (o.task_definition or o.previous_task_definition or "-").rsplit("/", 1)[-1],
            o.reason,
        )
        for o in outcomes
    ]
    return table(("STATUS", "TARGET", "DIGEST", "TASK DEFINITION", "REASON"), rows)
