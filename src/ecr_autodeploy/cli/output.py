"""Printing for people and for programs: tables fitted to the terminal, coloured states, JSON with a schema version.

One convention on every verb: ``--output table`` (the default of most verbs) or ``--output json`` (``--json``).
JSON carries every value in full and ``schema_version`` at the top (docs/cli.md); tables fit the terminal width
(``COLUMNS``, else the terminal, else 80), shortening the long columns with "…" and wrapping the last one. Colour
only on a terminal, never with ``NO_COLOR`` set, never in a pipe.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

import click

from ecr_autodeploy.core.outcomes import Outcome, Result

SCHEMA_VERSION = 1
GAP = "  "
MIN_WIDTH = 8  # a shortened column keeps at least this many characters
WRAP_MIN_WIDTH = 16  # the last column wraps, down to this width
ELLIPSIS = "…"
# States and statuses by colour; anything else is printed as it is.
GOOD = frozenset({"COMPLETED", "completed", "deployed", "no", "SUCCESSFUL", "ok", "created", "updated"})
BAD = frozenset(
    {"FAILED", "failed", "rollout_failed", "TIMEOUT", "error", "alert", "ROLLBACK_FAILED", "NOT AS EXPECTED"}
)
BUSY = frozenset(
    {
        "IN_PROGRESS",
        "STARTED",
        "in_progress",
        "planned",
        "drift",
        "yes",
        "PENDING",
        "deleted",
        "pending_approval",
        "deferred",
        "paused",
    }
)
QUIET = frozenset({"unchanged", "skipped", "ignored", "duplicate", "SUPERSEDED", "superseded", "absent", "-"})


def color_enabled(stream: TextIO | None = None) -> bool:
    """Return True when `stream` (stdout) is a terminal and NO_COLOR is not set."""
    if os.environ.get("NO_COLOR", ""):
        return False
    target = stream if stream is not None else sys.stdout
    return bool(getattr(target, "isatty", lambda: False)())


def terminal_width() -> int:
    """Return the width tables must fit: COLUMNS, else the terminal's, else 80."""
    return max(40, shutil.get_terminal_size((80, 24)).columns)


def paint(text: str, state: str | None = None, *, color: bool | None = None) -> str:
    """Return `text` coloured by what `state` (default: the text) means, when colour is on."""
    if not (color_enabled() if color is None else color):
        return text
    word = (state if state is not None else text).strip().split(" ")[0]
    if word in GOOD:
        return click.style(text, fg="green")
    if word in BAD:
        return click.style(text, fg="red", bold=True)
    if word in BUSY:
        return click.style(text, fg="yellow")
    if word in QUIET:
        return click.style(text, dim=True)
    return text


def with_schema(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return `data` with ``schema_version`` first."""
    return {"schema_version": SCHEMA_VERSION, **{k: v for k, v in data.items() if k != "schema_version"}}


def echo_json(data: Any) -> None:
    """Print data as indented JSON on stdout; an object gets ``schema_version``."""
    document = with_schema(data) if isinstance(data, Mapping) else data
    click.echo(json.dumps(document, indent=2, sort_keys=True, default=str))


def echo_document(data: Any) -> None:
    """Print an AWS document (an IAM policy, a template) as JSON, exactly: AWS refuses keys it does not know."""
    click.echo(json.dumps(data, indent=2, default=str))


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(0, width - 1)] + ELLIPSIS


def _wrap(text: str, width: int) -> list[str]:
    """Return `text` in lines of at most `width` characters, broken at spaces when it can."""
    lines: list[str] = []
    rest = text
    while len(rest) > width:
        cut = rest.rfind(" ", 0, width + 1)
        if cut <= 0:
            cut = width
        lines.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    lines.append(rest)
    return lines


def fit_widths(natural: Sequence[int], minimum: Sequence[int], width: int) -> list[int]:
    """Return column widths that fit `width` (two spaces between columns), shrinking the widest column first."""
    widths = list(natural)
    room = width - len(GAP) * (len(widths) - 1)
    while sum(widths) > room:
        shrinkable = [i for i, w in enumerate(widths) if w > minimum[i]]
        if not shrinkable:
            break  # every column at its minimum: the table is as narrow as it gets
        widest = max(shrinkable, key=widths.__getitem__)
        second = max((widths[i] for i in shrinkable if i != widest), default=minimum[widest])
        step = max(1, min(sum(widths) - room, widths[widest] - max(second, minimum[widest])))
        widths[widest] -= step
    return widths


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[object]],
    *,
    width: int | None = None,
    color: bool | None = None,
    states: Sequence[int] = (0,),
    keep: Sequence[int] = (),
) -> str:
    """Return rows as an aligned table that fits the terminal: long cells shortened with "…", the last wrapped.

    `states` are the columns whose values are coloured by what they mean (on a terminal only); `keep` the ones
    never shortened (what names the row).
    """
    limit = width if width is not None else terminal_width()
    use_color = color_enabled() if color is None else color
    cells = [[str(h) for h in headers], *[["-" if c is None else str(c) for c in row] for row in rows]]
    count = len(headers)
    natural = [max(len(row[i]) for row in cells) for i in range(count)]
    last = count - 1
    minimum = [min(natural[i], MIN_WIDTH) for i in range(count)]
    # The last column wraps rather than loses its end (a reason, a message).
    minimum[last] = min(natural[last], WRAP_MIN_WIDTH)
    widths = fit_widths(natural, [natural[i] if i in keep else m for i, m in enumerate(minimum)], limit)
    if sum(widths) + len(GAP) * last > limit:
        widths = fit_widths(widths, minimum, limit)  # still too wide: the kept columns give way too
    out: list[str] = []
    for number, row in enumerate(cells):
        head = [_clip(row[i], widths[i]) for i in range(last)]
        tail = _wrap(row[last], widths[last]) if number else [_clip(row[last], widths[last])]
        for extra, piece in enumerate(tail):
            parts = []
            for i in range(count):
                text = piece if i == last else (head[i] if extra == 0 else "")
                padded = text.ljust(widths[i]) if i < last else text
                if number and i in states and extra == 0 and text:
                    padded = paint(text, color=use_color) + padded[len(text) :]
                elif number == 0 and use_color:
                    padded = click.style(padded, bold=True)
                parts.append(padded)
            out.append(GAP.join(parts).rstrip())
        if number == 0:
            out.append(GAP.join("-" * w for w in widths).rstrip())
    return "\n".join(out)


def short_digest(digest: str | None) -> str:
    """Return sha256:abcdef123456 (12 hex digits) for display."""
    return digest[:19] if digest else "-"


def revision(arn: str | None) -> str:
    """Return ``family:revision`` of a task-definition ARN ("-" for none)."""
    return arn.rsplit("/", 1)[-1] if arn else "-"


def outcomes_table(outcomes: Sequence[Outcome]) -> str:
    """Return the outcomes of one event as a table."""
    rows = [
        (
            o.status,
            o.target or "-",
            short_digest(o.digest),
            revision(o.task_definition or o.previous_task_definition),
            o.reason,
        )
        for o in outcomes
    ]
    return table(("STATUS", "TARGET", "DIGEST", "TASK DEFINITION", "REASON"), rows, keep=(0, 1))


def result_data(result: Result) -> dict[str, Any]:
    """Return a result as JSON data, with the digest at the top when every target resolved the same one."""
    data = result.to_dict()
    if data.get("digest") is None:
        digests = {o.digest for o in result.outcomes if o.digest}
        if len(digests) == 1:
            data["digest"] = digests.pop()
    return data


def show_notes(notes: Sequence[str]) -> None:
    """Print notes on stderr, once each."""
    for note in dict.fromkeys(notes):
        click.echo(f"note: {note}", err=True)


def show_result(result: Result, as_json: bool, *, extra: Mapping[str, Any] | None = None) -> None:
    """Print an event's result (notes, such as the ledger being off, go to stderr)."""
    if as_json:
        echo_json({**result_data(result), **(extra or {})})
    else:
        click.echo(outcomes_table(result.outcomes))
    show_notes(result.notes)


def show_failure(outcomes: Sequence[Mapping[str, Any]], as_json: bool) -> None:
    """Print the outcomes carried by a DeployError before it becomes `Error: ...`."""
    if as_json:
        echo_json({"outcomes": list(outcomes)})
        return
    rows = [
        (
            str(o.get("status")),
            str(o.get("target") or "-"),
            short_digest(o.get("digest")),
            revision(o.get("task_definition") or o.get("previous_task_definition")),
            str(o.get("reason")),
        )
        for o in outcomes
    ]
    click.echo(table(("STATUS", "TARGET", "DIGEST", "TASK DEFINITION", "REASON"), rows))
