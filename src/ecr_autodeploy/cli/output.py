"""Printing results: aligned tables for people, JSON for pipes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from ecr_autodeploy.core.errors import DeployError
from ecr_autodeploy.core.outcomes import Outcome, Result

if TYPE_CHECKING:
    from ecr_autodeploy.cli.context import AppContext


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


def show_result(result: Result, as_json: bool) -> None:
    """Print an event's result (notes, such as the ledger being off, go to stderr)."""
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(outcomes_table(result.outcomes))
    for note in result.notes:
        click.echo(f"note: {note}", err=True)


def show_failure(err: DeployError, app: AppContext) -> None:
    """Print the outcomes carried by a DeployError before it becomes `Error: ...`."""
    if app.as_json:
        echo_json({"outcomes": err.outcomes})
    else:
        for outcome in err.outcomes:
            click.echo(f"{outcome.get('status')}: {outcome.get('target')}: {outcome.get('reason')}")
