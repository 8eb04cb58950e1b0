"""One door for everything the function receives: ECR image events, ECS deployment events, the reconcile schedule,
and the fan-out batches the function hands itself (core/fanout.py).

Each use case is built on first use: an event the function ignores builds none of them, an image event (the hot
path) only the deployer, so a cold start imports only what its event needs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ecr_autodeploy.core.events import Ignored, parse_event
from ecr_autodeploy.core.outcomes import Result, ignored_result
from ecr_autodeploy.core.routes import route
from ecr_autodeploy.engine.report import Reporter

if TYPE_CHECKING:
    from ecr_autodeploy.engine.deploy import Deployer
    from ecr_autodeploy.engine.reconcile import Reconciler
    from ecr_autodeploy.engine.track import Tracker


class Dispatcher:
    """Route each event to its use case; the Lambda handler and ``replay`` call this."""

    def __init__(
        self,
        reporter: Reporter,
        deployer: Callable[[], Deployer],
        tracker: Callable[[Deployer], Tracker],
        reconciler: Callable[[Dispatcher], Reconciler],
        region: Callable[[], str],
    ) -> None:
        self.reporter = reporter
        self._build_deployer = deployer
        self._build_tracker = tracker
        self._build_reconciler = reconciler
        self._deployer: Deployer | None = None
        self._tracker: Tracker | None = None
        self._reconciler: Reconciler | None = None
        self._region = region

    @property
    def deployer(self) -> Deployer:
        """Return the deploy use case (built on first use)."""
        if self._deployer is None:
            self._deployer = self._build_deployer()
        return self._deployer

    @property
    def tracker(self) -> Tracker:
        """Return the deployment tracker (built on first use)."""
        if self._tracker is None:
            self._tracker = self._build_tracker(self.deployer)
        return self._tracker

    @property
    def reconciler(self) -> Reconciler:
        """Return the reconciler (built on first use)."""
        if self._reconciler is None:
            self._reconciler = self._build_reconciler(self)
        return self._reconciler

    def handle(self, raw: object) -> Result:
        """Return the result of one event, reported; raise EventError (malformed) or DeployError (a target failed)."""
        kind = route(raw)
        if kind == "reconcile":
            return self.reconciler.run(self._region())
        if kind == "image":
            event = parse_event(raw)
            if isinstance(event, Ignored):
                return self.reporter.finish(ignored_result(event.event_id, event.detail_type, event.reason), "")
            return self.deployer.handle_parsed(event)
        if kind == "batch":
            from ecr_autodeploy.core.fanout import parse_batch

            return self.deployer.deploy_batch(parse_batch(raw))
        from ecr_autodeploy.core.ecs_events import parse_deployment_event

        deployment = parse_deployment_event(raw)
        if isinstance(deployment, Ignored) or self.reporter.dry_run:
            reason = deployment.reason if isinstance(deployment, Ignored) else "a dry run does not judge deployments"
            return self.reporter.finish(ignored_result(deployment.event_id, "deployment", reason), "")
        return self.tracker.handle(deployment)
