"""Progress on every long wait, on stderr: a spinner (a bar when the total is known) on a terminal, lines otherwise.

On a terminal the live line is redrawn in place and vanishes when the wait is over, leaving the permanent lines
(`say`); in a pipe or a log file each change is one plain line, so nothing is lost and nothing is redrawn.
"""

from __future__ import annotations

import sys
import threading
from types import TracebackType
from typing import Any

import click


class Progress:
    """One long wait: a live status line, permanent lines above it, and an optional count of steps done."""

    def __init__(self, title: str, *, total: int | None = None, live: bool | None = None) -> None:
        self.title = title
        self.total = total
        self.live = sys.stderr.isatty() if live is None else live
        self._done = 0
        self._last = ""
        self._lock = threading.Lock()
        self._progress: Any = None
        self._task: Any = None
        self._counted = False

    def __enter__(self) -> Progress:
        if self.live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
            from rich.progress import (
                Progress as Bar,
            )

            columns: list[Any] = [SpinnerColumn(), TextColumn("{task.description}")]
            if self.total is not None:
                columns += [BarColumn(bar_width=24), MofNCompleteColumn()]
            columns.append(TimeElapsedColumn())
            self._counted = self.total is not None
            self._progress = Bar(*columns, console=Console(stderr=True), transient=True)
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=self.total)
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def set_total(self, total: int) -> None:
        """Say how many steps there are (a bar appears on a terminal)."""
        with self._lock:
            self.total = total
            if self._progress is not None:
                if not self._counted:
                    from rich.progress import BarColumn, MofNCompleteColumn

                    # The total is known now: a bar and a count join the spinner.
                    self._progress.columns = (
                        *self._progress.columns[:2],
                        BarColumn(bar_width=24),
                        MofNCompleteColumn(),
                        *self._progress.columns[2:],
                    )
                    self._counted = True
                self._progress.update(self._task, total=total)

    def update(self, text: str, *, advance: int = 0, suffix: str = "") -> None:
        """Show where the wait stands; in a pipe, print it (with `suffix`) when `text` changed."""
        with self._lock:
            self._done += advance
            if self._progress is not None:
                self._progress.update(self._task, description=f"{self.title}: {text}", advance=advance)
                return
            if text != self._last:
                self._last = text
                count = f" ({self._done}/{self.total})" if self.total is not None else ""
                click.echo(f"{self.title}{count}: {text}{suffix}", err=True)

    def say(self, text: str) -> None:
        """Print a permanent line on stderr (above the live line on a terminal)."""
        with self._lock:
            if self._progress is not None:
                self._progress.console.print(text, markup=False, highlight=False)
            else:
                click.echo(text, err=True)


class Board:
    """Many waits at once (a fan-out): a live table redrawn in place on a terminal, a line per change otherwise."""

    def __init__(self, headers: tuple[str, ...], *, live: bool | None = None) -> None:
        self.headers = headers
        self.live = sys.stderr.isatty() if live is None else live
        self._rows: dict[str, tuple[str, ...]] = {}
        self._lock = threading.Lock()
        self._live: Any = None

    def __enter__(self) -> Board:
        if self.live:
            from rich.console import Console
            from rich.live import Live

            self._live = Live("", console=Console(stderr=True), refresh_per_second=4, transient=False)
            self._live.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None

    def set(self, key: str, row: tuple[str, ...]) -> None:
        """Show one row; in a pipe, print it when it changed."""
        from ecr_autodeploy.cli.output import table

        with self._lock:
            if self._rows.get(key) == row:
                return
            self._rows[key] = row
            if self._live is not None:
                from rich.text import Text

                self._live.update(Text.from_ansi(table(self.headers, list(self._rows.values()), states=(2,))))
                return
            click.echo("  ".join(row), err=True)
