"""The demo's steps and views: wait for replications, deliveries, rollouts and reports; rows and checks.

`Steps` is what every scenario uses (local.scenarios): it stamps progress lines with the time since
the start, and waits at most `wait_s` for each thing the emulator does.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecs import Cluster
from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.model import ServiceRef
from ecr_autodeploy.core.rollout import RolloutStatus
from ecr_autodeploy.engine.watch import watch
from ecr_autodeploy.local.delivery import ENVELOPE_KEYS, Delivery, Invocation
from ecr_autodeploy.local.ecs_rollout import EcsRollouts
from ecr_autodeploy.local.emulator import Emulator
from ecr_autodeploy.local.provision import Installed
from ecr_autodeploy.local.replication import Replication, Replicator
from ecr_autodeploy.local.summary import Check, ScenarioResult, ServiceRow
from ecr_autodeploy.local.world import CLUSTER, World

Progress = Callable[[str], None]
WAIT_S = 15.0  # for one replication, one delivery, one rollout: far more than the emulator needs
POLL_S = 0.2  # the watcher's interval on the emulator (5 s on AWS)
DETAIL_KEYS = ("result", "repository-name", "image-digest", "source-account", "action-type", "source-region")


@dataclass
class Running:
    """The live demo while the emulator is up: its endpoint, world and glue (for --keep-running)."""

    emulator: Emulator
    world: World
    installed: Installed
    replicator: Replicator
    rollouts: EcsRollouts
    delivery: Delivery


class Steps:
    """Progress lines and the waits every scenario shares; `progress` receives one line per step."""

    def __init__(
        self, progress: Progress, *, wait_s: float = WAIT_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.wait_s = wait_s
        self._print = progress
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()

    def say(self, text: str) -> None:
        """Send one progress line, stamped with the seconds since the start."""
        with self._lock:
            self._print(f"[{self._clock() - self._started:5.1f}s] {text}")

    # ---- steps ----------------------------------------------------------------------------------------------

    def replicated(self, live: Running, digests: dict[str, str]) -> list[Replication]:
        """Wait for the replications of `digests`; return those that raised an event."""
        if not live.replicator.wait_idle(self.wait_s):
            self.say(f"  ECR      replication still running after {self.wait_s:.0f}s")
        wanted = set(digests.values())
        found = [r for r in live.replicator.replications if r.image.digest in wanted and r.event_id is not None]
        for r in found:
            self.say(
                f"  ECR      replicated {r.image.repository}:{r.image.tag} -> {r.region}: "
                f"{r.result}, event ECR Replication Action {r.event_id}"
            )
        return found

    def delivered(self, live: Running, replications: Sequence[Replication]) -> list[Invocation]:
        """Wait for the function to be invoked on each replication's event; return the invocations."""
        ids = {r.event_id for r in replications}
        found = live.delivery.wait_for(lambda i: i.event.get("id") in ids, self.wait_s, count=len(ids))
        for invocation in found:
            self.show(invocation)
        return found

    def show(self, invocation: Invocation) -> None:
        """Print one invocation: its event and its outcomes, or its error."""
        self.say(f"  {invocation_line(invocation)}")

    def watch_all(
        self,
        clients: Clients,
        built: World,
        deployed: dict[str, dict[str, Any]],
        *,
        minute_s: float | None = None,
        stages: dict[str, list[str]] | None = None,
    ) -> dict[str, RolloutStatus]:
        """Follow each deployment the function started until it settles; return its final status per service.

        `deployed` is keyed by the services' labels (NAME, or CLUSTER/NAME outside the world's cluster).

        `minute_s` runs the watcher in the emulator's minutes (real seconds per emulated minute), so that a
        stage's bake reads ``3/5 min``; `stages` receives the stages each rollout went through.
        """
        cluster = Cluster(clients)
        last: dict[str, tuple[str, int, str]] = {}
        scale = 60 / minute_s if minute_s else 1.0  # emulated seconds per real second

        def progress(service: str) -> Callable[[RolloutStatus, float], None]:
            def show(status: RolloutStatus, elapsed: float) -> None:
                key = (status.state, status.running, status.progress)
                if last.get(service) != key:
                    last[service] = key
                    extra = " (rolled back)" if status.rolled_back else ""
                    stage = f", {status.progress}" if status.progress else ""
                    if stages is not None and status.progress:
                        stages.setdefault(service, []).append(status.progress)
                    self.say(
                        f"  rollout  {service}: {status.state} {status.running}/{status.desired} running{stage}, "
                        f"{elapsed / scale:.1f}s{extra}"
                    )

            return show

        def one(service: str, outcome: dict[str, Any]) -> RolloutStatus:
            where, _, name = service.rpartition("/")  # a label: NAME, or CLUSTER/NAME outside the world's cluster
            return watch(
                cluster,
                ServiceRef(built.deploy_region, where or built.cluster, name),
                str(outcome["deployment_id"]),
                timeout=self.wait_s * scale,
                interval=POLL_S * scale,
                on_progress=progress(service),
                clock=lambda: time.monotonic() * scale,
                sleep=lambda seconds: time.sleep(seconds / scale),
            )

        with ThreadPoolExecutor(max_workers=max(1, len(deployed))) as pool:
            futures = {name: pool.submit(one, name, o) for name, o in deployed.items() if o.get("deployment_id")}
            return {name: f.result() for name, f in futures.items()}

    def reported(self, live: Running, deployed: dict[str, dict[str, Any]], name: str) -> dict[str, str]:
        """Wait for ECS's `name` state-change event of each deployment; return per service the function's report."""
        ids = {str(o.get("deployment_id")): service for service, o in deployed.items()}

        def matches(invocation: Invocation) -> bool:
            detail = invocation.event.get("detail", {})
            return (
                invocation.event.get("source") == "aws.ecs"
                and detail.get("eventName") == name
                and (detail.get("deploymentId") in ids)
            )

        reports = {}
        for invocation in live.delivery.wait_for(matches, self.wait_s, count=len(ids)):
            service = ids[invocation.event["detail"]["deploymentId"]]
            outcome = outcome_of(invocation, service)
            report = f"{outcome['status']}: {outcome.get('reason')}" if outcome else f"error: {invocation.error}"
            self.say(f"  function {name} of {service} -> {report}")
            reports[service] = str(outcome["status"]) if outcome else "none"
        return reports

    def row(
        self,
        service: str,
        before: dict[str, str],
        after: dict[str, str],
        digest: str,
        outcome: dict[str, Any] | None,
        report: str | None,
        status: RolloutStatus | None,
        start: float,
        stages: tuple[str, ...] = (),
    ) -> ServiceRow:
        """Return one service's row of the summary table."""
        state = status.state + (" (rolled back)" if status.rolled_back else "") if status else "-"
        return ServiceRow(
            service,
            image_text(before[service]),
            image_text(after[service]),
            digest,
            (str(outcome["status"]) if outcome else "none") + (f" -> {report}" if report else ""),
            state,
            self._clock() - start,
            status.reason if status else "",
            stages,
        )

    def finish(
        self, number: int, title: str, expected: str, rows: list[ServiceRow], checks: list[Check], start: float
    ) -> ScenarioResult:
        """Return the scenario's result, and say whether it went as expected."""
        result = ScenarioResult(number, title, expected, tuple(rows), tuple(checks), self._clock() - start)
        failed = [c for c in checks if not c.ok]
        verdict = "as expected" if result.ok else f"NOT as expected: {'; '.join(c.what for c in failed)}"
        self.say(f"scenario {number} {verdict} ({result.seconds:.1f}s)")
        return result


def invocation_line(invocation: Invocation, *, image: bool = False) -> str:
    """Return one line saying what the function did on one event (with `image`: which image it was about)."""
    outcomes = ", ".join(f"{o.get('status')} {label_of(o)}" for o in invocation.outcomes) or "no outcome"
    error = f"; ERROR {invocation.error}" if invocation.error else ""
    about = str(invocation.event.get("id"))
    detail = invocation.event.get("detail", {})
    if image and isinstance(detail, dict) and detail.get("repository-name"):
        tag = detail.get("image-tag") or str(detail.get("image-digest", ""))[:19]
        about = f"{invocation.event.get('detail-type')} {detail['repository-name']}:{tag}"
    elif image and isinstance(detail, dict) and detail.get("eventName"):
        about = f"{detail['eventName']} {detail.get('deploymentId', '')}".strip()
    return f"function invoked on {about} ({invocation.seconds:.2f}s): {outcomes}{error}"


def deployed_outcomes(invocations: Sequence[Invocation]) -> dict[str, dict[str, Any]]:
    """Return the deployed outcomes of the invocations by service label."""
    return {
        label_of(o): o for i in invocations for o in i.outcomes if o.get("status") == "deployed" and o.get("service")
    }


def image_of(event: dict[str, Any]) -> tuple[str, str]:
    detail = event.get("detail", {})
    return str(detail.get("repository-name")), str(detail.get("image-tag"))


def outcome_of(invocation: Invocation, service: str) -> dict[str, Any] | None:
    """Return the invocation's outcome for a service label (NAME, or CLUSTER/NAME outside the world's cluster)."""
    cluster, _, name = service.rpartition("/")
    return next(
        (
            o
            for o in invocation.outcomes
            if o.get("service") == name and (o.get("cluster") or CLUSTER) == (cluster or CLUSTER)
        ),
        None,
    )


def label_of(outcome: dict[str, Any]) -> str:
    """Return how the demo names an outcome's service: NAME, or CLUSTER/NAME outside the world's cluster."""
    cluster, service = outcome.get("cluster"), outcome.get("service")
    return f"{cluster}/{service}" if cluster not in (None, CLUSTER) else str(service)


def reason_of(invocations: Sequence[Invocation], service: str) -> str:
    for invocation in invocations:
        if invocation.error:
            return f"function error: {invocation.error}"
        outcome = outcome_of(invocation, service)
        if outcome is not None:
            return f"{outcome.get('status')}: {outcome.get('reason')}"
    return "no outcome for this service"


def statuses_text(outcomes: Sequence[dict[str, Any] | None]) -> str:
    return ", ".join(f"{o['status']}: {o.get('reason')}" if o else "no outcome" for o in outcomes)


def envelope_check(invocations: Sequence[Invocation]) -> Check:
    replicated = [i for i in invocations if i.event.get("detail-type") == "ECR Replication Action"]
    good = bool(replicated) and all(
        tuple(i.event) == ENVELOPE_KEYS
        and tuple(i.event["detail"])[: len(DETAIL_KEYS)] == DETAIL_KEYS
        and i.event["source"] == "aws.ecr"
        for i in replicated
    )
    filled = sorted({f for i in replicated for f in i.filled})
    return Check(
        "the function received ECR Replication Action in the documented shape",
        good,
        f"envelope keys {', '.join(ENVELOPE_KEYS)}; filled by the route: {', '.join(filled) or 'none'}",
    )


def status_text(status: RolloutStatus | None) -> str:
    if status is None:
        return "not watched (no deployment id)"
    return f"{status.state}: {status.reason}"


def image_text(image: str) -> str:
    """Return ``repo:tag`` or ``repo@sha256:0123456789ab`` (the registry host left out)."""
    _, repository, tag, digest = split_image(image)
    if digest:
        return f"{repository}@{short(digest)}"
    return f"{repository}:{tag}" if tag else repository


def digest_of(image: str) -> str | None:
    return split_image(image)[3]


def short(digest: str) -> str:
    return digest[:19]
