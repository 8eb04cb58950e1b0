"""Fan-out batches on the emulator: moto cannot run the function's code, so the batches a function hands itself
are kept here and then handled, one invocation each, by the same handler code (``drain``).

This stands in for Lambda's asynchronous invocation only: the batch events, their parsing, the locks and claims
of each batch are the real ones (core/fanout.py, engine/fanout.py).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ecr_autodeploy.core.errors import AutodeployError
from ecr_autodeploy.core.outcomes import Result


@dataclass
class Handled:
    """What one batch invocation did: its result, or the error Lambda would retry and then dead-letter."""

    event: dict[str, Any]
    result: Result | None = None
    error: AutodeployError | None = None


@dataclass
class LocalFanOut:
    """Keep the batch events handed over; `drain` runs each through a handler, as its own invocation."""

    pending: list[dict[str, Any]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def dispatch(self, event: Mapping[str, Any]) -> str:
        """Keep a copy of the batch event, as it would travel (JSON); return a request id."""
        self.pending.append(json.loads(json.dumps(event)))
        return f"local-{next(self._ids)}"

    def drain(self, handle: Callable[[object], Result]) -> list[Handled]:
        """Run every pending batch (and any it hands on) through `handle`; return what each did, in order."""
        done: list[Handled] = []
        while self.pending:
            event = self.pending.pop(0)
            try:
                done.append(Handled(event, result=handle(event)))
            except AutodeployError as err:
                done.append(Handled(event, error=err))
        return done
