"""One door for everything the function receives: ECR image events, ECS deployment events, the reconcile schedule,
and the fan-out batches the function hands itself (core/fanout.py).

The tracker and the reconciler are built on first use, so an image event (the hot path) imports neither.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ecr_autodeploy.core.events import Ignored
from ecr_autodeploy.core.outcomes import Outcome, Result
from ecr_autodeploy.core.routes import route
from ecr_autodeploy.engine.deploy import Deployer

if TYPE_CHECKING:
    from ecr_autodeploy.engine.reconcile import Reconciler
    from ecr_autodeploy.engine.track import Tracker


class Dispatcher:
    """Route each event to its use case; the Lambda handler and ``replay`` call this."""

    def __init__(
        self,
        deployer: Deployer,
        tracker: Callable[[], Tracker],
        reconciler: Callable[[], Reconciler],
        region: Callable[[], str],
    ) -> None:
        self.deployer = deployer
        self._build_tracker = tracker
        self._build_reconciler = reconciler
        self._tracker: Tracker | None = None
        self._reconciler: Reconciler | None = None
        self._region = region

    @property
    def tracker(self) -> Tracker:
        """Return the deployment tracker (built on first use)."""
        if self._tracker is None:
            self._tracker = self._build_tracker()
        return self._tracker

    @property
    def reconciler(self) -> Reconciler:
        """Return the reconciler (built on first use)."""
        if self._reconciler is None:
            self._reconciler = self._build_reconciler()
        return self._reconciler

    def handle(self, raw: object) -> Result:
        """Return the result of one event, reported; raise EventError (malformed) or DeployError (a target failed)."""
        kind = route(raw)
        if kind == "reconcile":
            return self.reconciler.run(self._region())
        if kind == "image":
            return self.deployer.handle(raw)
        if kind == "batch":
            from ecr_autodeploy.core.fanout import parse_batch

            return self.deployer.deploy_batch(parse_batch(raw))
        from ecr_autodeploy.core.ecs_events import parse_deployment_event

        event = parse_deployment_event(raw)
        dry_run = self.deployer.reporter.dry_run
        if isinstance(event, Ignored) or dry_run:
            reason = event.reason if isinstance(event, Ignored) else "a dry run does not judge deployments"
            result = Result(event.event_id, "deployment", None, None, None, (Outcome("ignored", reason),))
            return self.deployer.reporter.finish(result, "")
        return self.tracker.handle(event)
