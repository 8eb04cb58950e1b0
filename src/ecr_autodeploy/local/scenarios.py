"""The demo: the whole pipeline on the emulator, five scenarios, and a summary whose checks decide the exit code.

  1. a good image is pushed in the build region, replicated, its event delivered; every mapped service is
     deployed pinned by digest and its rollout COMPLETES;
  2. a broken image: the deployments FAIL, the circuit breaker rolls them back, and they are reported FAILED;
  3. the same event delivered twice and an older image arriving late change nothing (unchanged / skipped);
  4. and 5. ECS's own CANARY strategy, set by the rule: one that completes, one that its alarm rolls back
     (local.canary);
  6. promotion: staging completes, production waits for an approval that the CLI gives (local.promotion).

Every check is a comparison against what the emulator holds afterwards, so a scenario that misbehaves fails
the demo. Only AWS's side is emulated (see docs/demo.md); install, the handler, the deploy engine and the
rollout watcher are the code that runs on AWS.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.local import world as demo_world
from ecr_autodeploy.local.canary import CanaryScenarios
from ecr_autodeploy.local.delivery import Delivery, Invocation
from ecr_autodeploy.local.demo_steps import (
    POLL_S,
    WAIT_S,
    Progress,
    Running,
    deployed_outcomes,
    digest_of,
    envelope_check,
    image_of,
    image_text,
    outcome_of,
    reason_of,
    short,
    status_text,
    statuses_text,
)
from ecr_autodeploy.local.ecs_rollout import EcsRollouts
from ecr_autodeploy.local.emulator import Emulator, isolated_environment
from ecr_autodeploy.local.observe import app_images, service_states, task_definitions, wait_steady_on
from ecr_autodeploy.local.promotion import PromotionScenario
from ecr_autodeploy.local.provision import Installed, install_into
from ecr_autodeploy.local.replication import Replicator
from ecr_autodeploy.local.summary import Check, ScenarioResult, ServiceRow, Summary
from ecr_autodeploy.local.world import World

__all__ = ["Demo", "Running"]

ECS_TICK_S = 0.25
GOOD = (("shop/api", "1.5.0"), ("shop/web", "2.1.0"))  # scenario 1
BROKEN = ("shop/api", "1.6.0")  # scenario 2: its app exits at start
NOTHING_TO_DO = ("unchanged", "skipped", "duplicate")


class Demo(CanaryScenarios, PromotionScenario):
    """Run the pipeline on a fresh emulator; `progress` receives one line per step."""

    def __init__(
        self,
        progress: Progress,
        *,
        wait_s: float = WAIT_S,
        broken_exit_code: int = 1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(progress, wait_s=wait_s, clock=clock)
        # `broken_exit_code` 0 makes scenario 2's image healthy: the way tests show that its checks can fail.
        self.broken_exit_code = broken_exit_code

    # ---- the run ----------------------------------------------------------------------------------------------

    def run(self, on_done: Callable[[Summary, Running], None] | None = None) -> Summary:
        """Run everything, stop the emulator (also on errors), return the summary; `on_done` runs before stopping."""
        with ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ecr-autodeploy-demo-")))
            emulator = stack.enter_context(Emulator())
            self.say(f"emulator   moto server on {emulator.endpoint_url} (every AWS call of this demo goes there)")
            stack.enter_context(isolated_environment(emulator.endpoint_url, demo_world.DEPLOY_REGION))
            clients = emulator.clients(demo_world.DEPLOY_REGION)
            # Each piece of glue is stopped on the way out, also when its own start() failed half-way.
            rollouts = EcsRollouts(
                clients, [demo_world.DEPLOY_REGION], interval=ECS_TICK_S, settle_ticks=3, min_stage_s=2 * POLL_S + 0.05
            )
            stack.callback(rollouts.stop)
            rollouts.start()
            replicator = Replicator(clients, [demo_world.BUILD_REGION])
            stack.callback(replicator.stop)
            replicator.start()
            world = self._build_world(clients, workdir, replicator, rollouts)
            installed = self._install(clients, world)
            delivery = Delivery(clients, world.deploy_region, installed.function_name, installed.rule_names)
            stack.callback(delivery.stop)
            delivery.start()
            live = Running(emulator, world, installed, replicator, rollouts, delivery)
            good = self.scenario_good(live, clients)
            broken = self.scenario_broken(live, clients)
            noop = self.scenario_noop(live, clients)
            canary, alarm = self.scenario_canary(live, clients), self.scenario_alarm(live, clients)
            scenarios = (good, broken, noop, canary, alarm, self.scenario_promotion(live, clients))
            failures = [
                f"the function failed on event {i.event.get('id')}: {i.error}" for i in delivery.invocations if i.error
            ]
            problems = (*replicator.errors, *rollouts.errors, *delivery.errors, *failures)
            summary = Summary(
                scenarios=scenarios,
                endpoint=emulator.endpoint_url,
                build_region=world.build_region,
                deploy_region=world.deploy_region,
                function=installed.function_name,
                rules=installed.rule_names,
                install_steps=len(installed.report.steps),
                invocations=len(delivery.invocations),
                seconds=self._clock() - self._started,
                problems=tuple(problems),
                notes=(
                    "emulated: ECR replication and its events, delivery of matched events to the function "
                    "(an SQS target + Lambda's async invoke semantics), ECS task scheduling and rollouts",
                    f"envelope fields filled by the delivery route (moto leaves them out): "
                    f"{', '.join(sorted({f for i in delivery.invocations for f in i.filled})) or 'none'}",
                ),
            )
            if on_done is not None:
                on_done(summary, live)
            return summary
        raise AssertionError("unreachable")  # for the type checker: ExitStack never swallows an exception here

    def _build_world(self, clients: Clients, workdir: Path, replicator: Replicator, rollouts: EcsRollouts) -> World:
        def wait_replicated() -> None:
            if not replicator.wait_idle(self.wait_s):
                raise TimeoutError(f"replication of the world's images did not finish in {self.wait_s:.0f}s")

        built = demo_world.build(
            clients, workdir, hold=replicator.hold, wait_replicated=wait_replicated, settle=rollouts.settle
        )
        history = ", ".join(f"{r}:{t}" for r, t, _ in demo_world.HISTORY)
        late = ":".join(demo_world.LATE)
        self.say(
            f"world      {built.build_region}: ECR shop/api, shop/web, replication -> {built.deploy_region} "
            f"(prefix shop/); history pushed and replicated: {history} (the event of {late} is held back)"
        )
        services = ", ".join(f"{s.name} ({s.repository})" for s in built.services)
        canary, staging, production = built.canary, built.staging, built.production
        self.say(
            f"world      {built.deploy_region}: cluster {built.cluster} on Fargate, 2 tasks each, circuit breaker "
            f"with rollback: {services}, {canary.name} ({canary.repository}, its rule deploys it CANARY with alarm "
            f"{demo_world.CANARY_ALARM}), {production.name} ({production.repository}, after {staging.label}, behind "
            f"an approval); cluster {staging.cluster}: {staging.name}; SNS topic {demo_world.TOPIC}; rules file "
            f"{built.rules_path.name}"
        )
        return built

    def _install(self, clients: Clients, built: World) -> Installed:
        installed = install_into(clients, built)
        report = installed.report
        created = sum(1 for done in report.steps if done.action == "created")
        self.say(
            f"install    the real installer: {len(report.steps)} steps ({created} created), package "
            f"{installed.package_bytes // 1024} KB; function {installed.function_name}, rules "
            f"{', '.join(installed.rule_names)}, ledger table {report.ledger_table}, dead-letter queues"
        )
        return installed

    # ---- scenario 1 ---------------------------------------------------------------------------------------------

    def scenario_good(self, live: Running, clients: Clients) -> ScenarioResult:
        """Push good images; every mapped service is deployed pinned by digest and COMPLETES."""
        start = self._clock()
        title = "a good image: replicated, delivered, deployed to every mapped service, pinned by digest"
        self.say(f"scenario 1 {title}")
        before = app_images(clients, live.world)
        digests = {repo: demo_world.push(clients, live.world.build_region, repo, tag) for repo, tag in GOOD}
        for repo, tag in GOOD:
            self.say(f"  push     {repo}:{tag} in {live.world.build_region} ({short(digests[repo])})")
        replications = self.replicated(live, digests)
        invocations = self.delivered(live, replications)
        deployed = deployed_outcomes(invocations)
        statuses = self.watch_all(clients, live.world, deployed)
        completed = {name: deployed[name] for name, status in statuses.items() if status.state == "COMPLETED"}
        reports = self.reported(live, completed, "SERVICE_DEPLOYMENT_COMPLETED")
        after = app_images(clients, live.world)
        checks: list[Check] = [envelope_check(invocations)]
        rows = []
        for spec in live.world.services:
            want = live.world.image_uri(spec.repository, f"@{digests[spec.repository]}")
            outcome = deployed.get(spec.name)
            status = statuses.get(spec.name)
            checks.append(
                Check(f"{spec.name}: deployed by the function", outcome is not None, reason_of(invocations, spec.name))
            )
            checks.append(
                Check(
                    f"{spec.name}: {spec.container} pinned to the pushed digest",
                    after[spec.name] == want,
                    f"runs {after[spec.name]}",
                )
            )
            checks.append(
                Check(
                    f"{spec.name}: rollout COMPLETED",
                    status is not None and status.state == "COMPLETED",
                    status_text(status),
                )
            )
            checks.append(
                Check(
                    f"{spec.name}: the function reported ECS's COMPLETED event as completed",
                    reports.get(spec.name) == "completed",
                    f"reported {reports.get(spec.name, 'nothing')}",
                )
            )
            report = reports.get(spec.name)
            rows.append(self.row(spec.name, before, after, digests[spec.repository], outcome, report, status, start))
        return self.finish(1, title, "deployed, COMPLETED", rows, checks, start)

    # ---- scenario 2 ---------------------------------------------------------------------------------------------

    def scenario_broken(self, live: Running, clients: Clients) -> ScenarioResult:
        """Push a broken image; the deployments FAIL, are rolled back, and are reported FAILED."""
        start = self._clock()
        title = "a broken image: the deployment fails, the circuit breaker rolls it back, reported FAILED"
        self.say(f"scenario 2 {title}")
        before = app_images(clients, live.world)
        before_td = task_definitions(clients, live.world)
        repository, tag = BROKEN
        digest = demo_world.push(clients, live.world.build_region, repository, tag, exit_code=self.broken_exit_code)
        where = f"{live.world.build_region} ({short(digest)})"
        self.say(f"  push     {repository}:{tag} in {where}; its app exits {self.broken_exit_code} at start")
        invocations = self.delivered(live, self.replicated(live, {repository: digest}))
        deployed = deployed_outcomes(invocations)
        statuses = self.watch_all(clients, live.world, deployed)
        mapped = [s for s in live.world.services if s.repository == repository]
        # Only a deployment that FAILED is rolled back and reported so: wait for those alone.
        failed = [name for name, status in statuses.items() if status.state == "FAILED"]
        previous = {name: before_td[name] for name in failed}
        settled = wait_steady_on(clients, live.world, previous, timeout=self.wait_s, interval=POLL_S, clock=self._clock)
        after = app_images(clients, live.world)
        reports = self.reported(live, {name: deployed[name] for name in failed}, "SERVICE_DEPLOYMENT_FAILED")
        checks = []
        rows = []
        for spec in mapped:
            status = statuses.get(spec.name)
            checks.append(
                Check(
                    f"{spec.name}: deployment started by the function",
                    spec.name in deployed,
                    reason_of(invocations, spec.name),
                )
            )
            checks.append(
                Check(
                    f"{spec.name}: reported FAILED (never success)",
                    status is not None and status.state == "FAILED",
                    status_text(status),
                )
            )
            checks.append(
                Check(
                    f"{spec.name}: rolled back by the circuit breaker",
                    bool(status and status.rolled_back),
                    status_text(status),
                )
            )
            checks.append(
                Check(
                    f"{spec.name}: back on the previous task definition, COMPLETED",
                    settled.get(spec.name, False),
                    f"runs {after[spec.name]}",
                )
            )
            checks.append(
                Check(
                    f"{spec.name}: the function reported ECS's FAILED event as rollout_failed",
                    reports.get(spec.name) == "rollout_failed",
                    f"reported {reports.get(spec.name, 'nothing')}",
                )
            )
            report = reports.get(spec.name)
            rows.append(self.row(spec.name, before, after, digest, deployed.get(spec.name), report, status, start))
        return self.finish(2, title, "FAILED, rolled back", rows, checks, start)

    # ---- scenario 3 ---------------------------------------------------------------------------------------------

    def scenario_noop(self, live: Running, clients: Clients) -> ScenarioResult:
        """Deliver scenario 1's event twice more and release the held-back older image: nothing changes."""
        start = self._clock()
        title = "the same event delivered twice, an older image arriving late: nothing changes"
        self.say(f"scenario 3 {title}")
        repository, tag = GOOD[0]
        mapped = [s for s in live.world.services if s.repository == repository]
        before = app_images(clients, live.world)
        state_before = service_states(clients, live.world)
        first = [i for i in live.delivery.invocations if i.event.get("detail-type") == "ECR Replication Action"]
        original = next((i for i in first if image_of(i.event) == (repository, tag)), None)
        checks: list[Check] = []
        repeats: list[Invocation] = []
        if original is None:
            checks.append(Check(f"scenario 1's {repository}:{tag} event was delivered", False))
        else:
            event_id = original.event["id"]
            for _ in range(2):
                live.delivery.redeliver(original.event)
            self.say(
                f"  deliver  the {repository}:{tag} event {event_id} twice more (EventBridge delivers at least once)"
            )
            found = live.delivery.wait_for(lambda i: i.event.get("id") == event_id, self.wait_s, count=3)
            repeats = found[1:]
            for invocation in repeats:
                self.show(invocation)
            checks.append(Check("the duplicate event was delivered twice", len(repeats) == 2, f"{len(repeats)} times"))
        released = live.replicator.release(*demo_world.LATE)
        late_tag = f"{demo_world.LATE[0]}:{demo_world.LATE[1]}"
        self.say(f"  deliver  the held-back event of {late_tag} (pushed a day ago) arrives now")
        late = self.delivered(live, released)
        state_after = service_states(clients, live.world)
        after = app_images(clients, live.world)
        rows = []
        for spec in mapped:
            dup = [outcome_of(i, spec.name) for i in repeats]
            old = [outcome_of(i, spec.name) for i in late]
            checks.append(
                Check(
                    f"{spec.name}: duplicates are unchanged",
                    len(dup) == 2 and all(o is not None and o["status"] in NOTHING_TO_DO for o in dup),
                    statuses_text(dup),
                )
            )
            checks.append(
                Check(
                    f"{spec.name}: the older image is skipped",
                    len(old) == 1 and all(o is not None and o["status"] == "skipped" for o in old),
                    statuses_text(old),
                )
            )
            checks.append(
                Check(
                    f"{spec.name}: no new task definition, no new deployment",
                    state_before[spec.name] == state_after[spec.name],
                    f"before {state_before[spec.name]}, after {state_after[spec.name]}",
                )
            )
            outcomes = ", ".join(str(o["status"]) if o else "none" for o in [*dup, *old])
            rows.append(
                ServiceRow(
                    spec.name,
                    image_text(before[spec.name]),
                    image_text(after[spec.name]),
                    digest_of(after[spec.name]),
                    outcomes,
                    "-",
                    self._clock() - start,
                )
            )
        return self.finish(3, title, "unchanged, skipped", rows, checks, start)
