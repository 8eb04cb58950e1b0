"""The demo's canary scenarios: ECS's own CANARY strategy, set by the rule, judged by the service deployment.

  4. a good shop/checkout image: the function deploys it with the rule's deployment block (CANARY 10 %, canary
     bake 5 min, bake 10 min, alarm checkout-5xx) in the same UpdateService; ECS shifts 10 % of the traffic,
     bakes, shifts the rest, bakes again; the watcher shows each stage and the service deployment is SUCCESSFUL;
  5. an image that fails 40 % of its requests: once it takes the canary's traffic the alarm goes to ALARM and
     ECS rolls back (ROLLBACK_SUCCESSFUL); reported FAILED, never success, with the alarm's name.

The emulated minutes pass quickly (local.ecs_native); the watcher runs in them, so a bake reads ``3/5 min``.
"""

from __future__ import annotations

from typing import Any

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.local import world as demo_world
from ecr_autodeploy.local.demo_steps import POLL_S, Running, Steps, deployed_outcomes, reason_of, short, status_text
from ecr_autodeploy.local.observe import app_images, task_definitions, wait_steady_on
from ecr_autodeploy.local.summary import Check, ScenarioResult

GOOD = "1.1.0"  # scenario 4
FAILING = ("1.2.0", 40)  # scenario 5: (tag, percent of requests failing)


class CanaryScenarios(Steps):
    """Scenarios 4 and 5, on the world's checkout service."""

    def scenario_canary(self, live: Running, clients: Clients) -> ScenarioResult:
        """Push a good image; the rule's CANARY runs through its stages to SUCCESSFUL."""
        title = "a canary: the rule sets CANARY 10%, ECS shifts, bakes and completes, judged by its service deployment"
        start = self._clock()
        self.say(f"scenario 4 {title}")
        spec = live.world.canary
        before = app_images(clients, live.world, [spec])
        digest = demo_world.push(clients, live.world.build_region, spec.repository, GOOD)
        self.say(f"  push     {spec.repository}:{GOOD} in {live.world.build_region} ({short(digest)})")
        invocations = self.delivered(live, self.replicated(live, {spec.repository: digest}))
        deployed = deployed_outcomes(invocations)
        stages: dict[str, list[str]] = {}
        minute_s = live.rollouts.native.minute_s
        statuses = self.watch_all(clients, live.world, deployed, minute_s=minute_s, stages=stages)
        status = statuses.get(spec.name)
        reports = self.reported(live, deployed, "SERVICE_DEPLOYMENT_COMPLETED")
        after = app_images(clients, live.world, [spec])
        seen = tuple(dict.fromkeys(_stage(p) for p in stages.get(spec.name, [])))
        strategy = _configuration(clients, live).get("strategy")
        checks = [
            Check(f"{spec.name}: deployed by the function", spec.name in deployed, reason_of(invocations, spec.name)),
            Check(f"{spec.name}: the UpdateService set strategy CANARY", strategy == "CANARY", f"strategy {strategy}"),
            Check(
                f"{spec.name}: the stages progressed through the canary's traffic shift and bake",
                {"PRODUCTION_TRAFFIC_SHIFT 10%", "BAKE_TIME"} <= set(seen),
                ", ".join(seen) or "no stage seen",
            ),
            Check(
                f"{spec.name}: service deployment SUCCESSFUL, rollout COMPLETED",
                status is not None and status.state == "COMPLETED" and status.service_deployment is not None,
                status_text(status),
            ),
            Check(
                f"{spec.name}: pinned to the pushed digest",
                after[spec.name].endswith(f"@{digest}"),
                f"runs {after[spec.name]}",
            ),
            Check(
                f"{spec.name}: the function reported ECS's COMPLETED event as completed",
                reports.get(spec.name) == "completed",
                f"reported {reports.get(spec.name, 'nothing')}",
            ),
        ]
        outcome = deployed.get(spec.name)
        row = self.row(spec.name, before, after, digest, outcome, reports.get(spec.name), status, start, seen)
        return self.finish(4, title, "deployed, CANARY stages, SUCCESSFUL", [row], checks, start)

    def scenario_alarm(self, live: Running, clients: Clients) -> ScenarioResult:
        """Push an image that fails requests; the alarm fires during the canary and ECS rolls it back."""
        title = "a failing canary: its alarm fires, ECS rolls back (ROLLBACK_SUCCESSFUL), reported FAILED"
        start = self._clock()
        self.say(f"scenario 5 {title}")
        spec = live.world.canary
        before = app_images(clients, live.world, [spec])
        previous = task_definitions(clients, live.world, [spec])
        tag, errors = FAILING
        digest = demo_world.push(clients, live.world.build_region, spec.repository, tag, errors=errors)
        where = f"{live.world.build_region} ({short(digest)})"
        self.say(f"  push     {spec.repository}:{tag} in {where}; {errors}% of its requests fail (HTTP 5xx)")
        invocations = self.delivered(live, self.replicated(live, {spec.repository: digest}))
        deployed = deployed_outcomes(invocations)
        stages: dict[str, list[str]] = {}
        minute_s = live.rollouts.native.minute_s
        statuses = self.watch_all(clients, live.world, deployed, minute_s=minute_s, stages=stages)
        status = statuses.get(spec.name)
        settled = wait_steady_on(clients, live.world, previous, timeout=self.wait_s, interval=POLL_S, clock=self._clock)
        reports, reasons = self._reported_failed(live, deployed)
        after = app_images(clients, live.world, [spec])
        alarm = demo_world.CANARY_ALARM
        checks = [
            Check(f"{spec.name}: deployed by the function", spec.name in deployed, reason_of(invocations, spec.name)),
            Check(
                f"{spec.name}: reported FAILED (never success), rolled back by ECS",
                status is not None and status.state == "FAILED" and status.rolled_back,
                status_text(status),
            ),
            Check(
                f"{spec.name}: the alarm {alarm} is named",
                status is not None and alarm in status.alarms and alarm in status.reason,
                f"alarms {', '.join(status.alarms) if status else 'none'}",
            ),
            Check(
                f"{spec.name}: back on the previous task definition, COMPLETED",
                settled.get(spec.name, False),
                f"runs {after[spec.name]}",
            ),
            Check(
                f"{spec.name}: the function reported ECS's FAILED event as rollout_failed naming the alarm",
                reports.get(spec.name) == "rollout_failed" and alarm in reasons.get(spec.name, ""),
                f"reported {reports.get(spec.name, 'nothing')}: {reasons.get(spec.name, '')}",
            ),
        ]
        seen = tuple(dict.fromkeys(_stage(p) for p in stages.get(spec.name, [])))
        outcome = deployed.get(spec.name)
        row = self.row(spec.name, before, after, digest, outcome, reports.get(spec.name), status, start, seen)
        return self.finish(5, title, "FAILED, alarm, ROLLBACK_SUCCESSFUL", [row], checks, start)

    def _reported_failed(
        self, live: Running, deployed: dict[str, dict[str, Any]]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Return the function's report of each FAILED event, and its reason, per service."""
        reports = self.reported(live, deployed, "SERVICE_DEPLOYMENT_FAILED")
        ids = {str(o.get("deployment_id")): name for name, o in deployed.items()}
        reasons: dict[str, str] = {}
        for invocation in live.delivery.invocations:
            detail = invocation.event.get("detail", {})
            name = ids.get(str(detail.get("deploymentId")))
            if name is not None and detail.get("eventName") == "SERVICE_DEPLOYMENT_FAILED":
                reasons[name] = " ".join(str(o.get("reason")) for o in invocation.outcomes)
        return reports, reasons


def _stage(progress: str) -> str:
    """Return a stage without the minutes waited, e.g. ``BAKE_TIME`` or ``PRODUCTION_TRAFFIC_SHIFT 10%``."""
    return " ".join(word for word in progress.split() if "/" not in word and word != "min")


def _configuration(clients: Clients, live: Running) -> dict[str, Any]:
    found = clients.ecs(live.world.deploy_region).describe_services(
        cluster=live.world.cluster, services=[live.world.canary.name]
    )["services"]
    return dict(found[0].get("deploymentConfiguration") or {}) if found else {}
