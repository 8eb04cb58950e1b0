"""The demo's promotion scenario: staging first, production behind an approval, approved from the command line.

6. a shop/orders image is replicated and its event delivered: the function deploys it to staging/orders and
   defers production (``after: staging/orders``: nothing completed there yet). ECS completes the staging rollout;
   its COMPLETED event comes back to the function, which now finds production's gate open up to its approval:
   it records the pending deployment and notifies (SNS, read back from a queue subscribed to the topic) with the
   exact approve command. The demo runs that command, as a person would, in a process of its own; the CLI
   deploys through the same engine and production's rollout completes.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from typing import Any

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.core.model import Service, ServiceRef
from ecr_autodeploy.local import world as demo_world
from ecr_autodeploy.local.demo_steps import POLL_S, Running, Steps, outcome_of, reason_of, short, status_text
from ecr_autodeploy.local.observe import app_images
from ecr_autodeploy.local.summary import Check, ScenarioResult

RELEASE = "1.1.0"  # scenario 6
APPROVE_TIMEOUT_S = 60.0  # the approve command's own process: far more than it needs


class PromotionScenario(Steps):
    """Scenario 6, on the world's staging and production orders services."""

    def scenario_promotion(self, live: Running, clients: Clients) -> ScenarioResult:
        """Push an image: staging, its completion, an approval request, the approve command, production."""
        title = "promotion: staging completes, production waits for an approval, approved from the CLI, deployed"
        start = self._clock()
        self.say(f"scenario 6 {title}")
        world = live.world
        staging, production = world.staging, world.production
        specs = [staging, production]
        before = app_images(clients, world, specs)
        digest = demo_world.push(clients, world.build_region, staging.repository, RELEASE)
        self.say(f"  push     {staging.repository}:{RELEASE} in {world.build_region} ({short(digest)})")
        arrived = self.delivered(live, self.replicated(live, {staging.repository: digest}))
        first = next((outcome_of(i, production.label) for i in arrived if outcome_of(i, production.label)), None)
        started = [o for i in arrived for o in i.outcomes if _is(o, staging) and o.get("status") == "deployed"]
        deployed = {staging.label: started[0]} if started else {}
        statuses = self.watch_all(clients, world, deployed)
        completed = self.reported(live, deployed, "SERVICE_DEPLOYMENT_COMPLETED")
        chained = self._chained(live, deployed.get(staging.label), production)
        approval = str(chained.get("approval") or "") if chained else ""
        command = self._notified(clients, world.inbox, approval)
        answer = self._approve(live, command) if command else None
        ref = ServiceRef(world.deploy_region, production.cluster, production.name)
        promoted = _primary(clients, ref) if answer is not None and answer.returncode == 0 else None
        production_deployed = {production.label: {"deployment_id": promoted}} if promoted else {}
        statuses.update(self.watch_all(clients, world, production_deployed))
        reports = {**completed, **self.reported(live, production_deployed, "SERVICE_DEPLOYMENT_COMPLETED")}
        after = app_images(clients, world, specs)
        checks = [
            Check(
                f"{staging.label}: deployed by the function, rollout COMPLETED",
                staging.label in deployed and _state(statuses, staging.label) == "COMPLETED",
                status_text(statuses.get(staging.label)),
            ),
            Check(
                f"{production.label}: deferred by its promotion gate while staging rolled out",
                first is not None and first.get("status") == "deferred" and first.get("gate") == "promotion",
                f"{first.get('status')}: {first.get('reason')}" if first else reason_of(arrived, production.label),
            ),
            Check(
                f"{production.label}: on staging's completion, pending_approval",
                chained is not None and chained.get("status") == "pending_approval" and bool(approval),
                f"{chained.get('status')}: {chained.get('reason')}" if chained else "no outcome on the COMPLETED event",
            ),
            Check(
                "the notification carries the exact approve command",
                command is not None and command.split()[:3] == ["ecr-autodeploy", "approve", approval],
                command or "no approval message in the queue",
            ),
            Check(
                "approved from the CLI as the caller",
                answer is not None and answer.returncode == 0 and f"approved {approval}" in answer.stderr,
                (answer.stderr.strip().splitlines() or ["no output"])[-1] if answer else "not run",
            ),
            Check(
                f"{production.label}: pinned to the pushed digest, rollout COMPLETED",
                after[production.label].endswith(f"@{digest}") and _state(statuses, production.label) == "COMPLETED",
                f"runs {after[production.label]}; {status_text(statuses.get(production.label))}",
            ),
            Check(
                f"{production.label}: the function reported ECS's COMPLETED event as completed",
                reports.get(production.label) == "completed",
                f"reported {reports.get(production.label, 'nothing')}",
            ),
        ]
        rows = [
            self.row(
                spec.label,
                before,
                after,
                digest,
                (deployed if spec is staging else {production.label: {"status": _story(first, chained, promoted)}}).get(
                    spec.label
                ),
                reports.get(spec.label),
                statuses.get(spec.label),
                start,
            )
            for spec in specs
        ]
        return self.finish(6, title, "staging COMPLETED, production approved and COMPLETED", rows, checks, start)

    def _chained(
        self, live: Running, staging: dict[str, Any] | None, production: demo_world.ServiceSpec
    ) -> dict[str, Any] | None:
        """Return production's outcome on the function's handling of staging's COMPLETED event."""
        if staging is None:
            return None
        wanted = staging.get("deployment_id")
        for invocation in live.delivery.invocations:
            detail = invocation.event.get("detail", {})
            if detail.get("eventName") == "SERVICE_DEPLOYMENT_COMPLETED" and detail.get("deploymentId") == wanted:
                found = next((o for o in invocation.outcomes if _is(o, production)), None)
                if found is not None:
                    self.say(f"  function {production.label}: {found.get('status')}: {found.get('reason')}")
                return found
        return None

    def _notified(self, clients: Clients, inbox: str, approval: str) -> str | None:
        """Return the approve command of the approval message the topic delivered to the inbox, or None."""
        if not approval:
            return None
        sqs = clients.client("sqs", demo_world.DEPLOY_REGION)
        deadline = self._clock() + self.wait_s
        while self._clock() < deadline:
            for message in sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
                body: Any = json.loads(message["Body"])
                kind = body.get("MessageAttributes", {}).get("kind", {}).get("Value")
                text = str(body.get("Message", ""))
                run = next((line[len("Run: ") :] for line in text.splitlines() if line.startswith("Run: ")), "")
                if kind == "approval" and approval in run:
                    self.say(f"  notify   SNS {body.get('Subject', '')!r}: run {run}")
                    return run
            time.sleep(POLL_S)
        return None

    def _approve(self, live: Running, command: str) -> subprocess.CompletedProcess[str]:
        """Run the approve command the notification gave, as a person would, against the emulator."""
        words = shlex.split(command)
        self.say(f"  approve  {command}")
        args = [sys.executable, "-m", "ecr_autodeploy", "--endpoint-url", live.emulator.endpoint_url, *words[1:]]
        done = subprocess.run(
            args, capture_output=True, text=True, timeout=APPROVE_TIMEOUT_S, env=dict(os.environ), check=False
        )
        said = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        self.say(f"  approve  exit {done.returncode}: {said}")
        return done


def _is(outcome: dict[str, Any], spec: demo_world.ServiceSpec) -> bool:
    return outcome.get("cluster") == spec.cluster and outcome.get("service") == spec.name


def _state(statuses: dict[str, Any], label: str) -> str | None:
    status = statuses.get(label)
    return status.state if status is not None else None


def _primary(clients: Clients, ref: ServiceRef) -> str | None:
    """Return the id of the service's PRIMARY deployment (the one approve started)."""
    found = Cluster(clients).services([ref]).get(ref)
    primary = found.primary if isinstance(found, Service) else None
    return primary.id if primary is not None else None


def _story(first: dict[str, Any] | None, chained: dict[str, Any] | None, promoted: str | None) -> str:
    """Return production's path through the scenario, e.g. ``deferred, pending_approval, approved``."""
    steps = [str(o.get("status")) for o in (first, chained) if o is not None]
    return ", ".join([*steps, "approved" if promoted else "not approved"])
