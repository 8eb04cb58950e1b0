"""Report: every decision is one JSON log line; messages go to the notifier; failed targets become DeployError.

The one place results leave the engine, for deploy, reconcile and track alike. A failing notifier is logged and
never fails or repeats a deployment. A dry run logs its decisions but sends nothing.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ecr_autodeploy.core.outcomes import ERROR_STATUSES, Outcome, Result, deploy_error
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, concurrently

if TYPE_CHECKING:
    from ecr_autodeploy.core.notify import Message
    from ecr_autodeploy.engine.ports import NotifierPort

logger = logging.getLogger("ecr_autodeploy")


def log_decision(outcome: Outcome, event_id: str | None) -> None:
    """Log one JSON line for one decision (ERROR for what a person should look at)."""
    level = logging.ERROR if outcome.status in ERROR_STATUSES else logging.INFO
    logger.log(level, json.dumps({"event_id": event_id, **outcome.to_dict()}, sort_keys=True, default=str))


class Reporter:
    """Log, notify and raise for the use cases."""

    def __init__(
        self,
        notifier: NotifierPort | None,
        *,
        dry_run: bool = False,
        clock: Callable[[], float] = time.time,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.notifier = notifier
        self.dry_run = dry_run
        self.clock = clock
        self._max_workers = max_workers

    def send(self, messages: Sequence[Message]) -> None:
        """Deliver messages concurrently (not in a dry run); a failing notifier is logged, never raised."""
        notifier = self.notifier
        if notifier is None or self.dry_run or not messages:
            return

        def deliver(message: Message) -> None:
            try:
                notifier.notify(message)
            except Exception as err:  # noqa: BLE001 - a notifier must never fail or repeat a deployment
                logger.error(json.dumps({"notify": "failed", "kind": message.kind, "error": type(err).__name__}))

        concurrently(deliver, messages, self._max_workers)

    def finish(
        self, result: Result, subject: str, *, what: str = "targets", messages: Sequence[Message] = ()
    ) -> Result:
        """Log every outcome and note, send the messages; return the result, or raise DeployError if any failed."""
        for outcome in result.outcomes:
            log_decision(outcome, result.event_id)
        for note in result.notes:
            logger.warning(json.dumps({"event_id": result.event_id, "note": note}))
        self.send(messages)
        error = deploy_error(result, subject, what)
        if error is not None:
            raise error
        return result
