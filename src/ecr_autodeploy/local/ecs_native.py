"""ECS's native strategies on the emulator (BLUE_GREEN, LINEAR, CANARY), in emulated minutes, with their alarms.

A deployment of a service whose deploymentConfiguration.strategy is native walks the lifecycle stages ECS
documents: SCALE_UP (the new revision's tasks start), TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT (CANARY: the
canary percentage for the canary bake time, then the rest; LINEAR: step by step with the step bake time;
BLUE_GREEN: all at once), BAKE_TIME, CLEAN_UP, then SUCCESSFUL. A PAUSE hook at a stage holds it there until
ContinueServiceDeployment. Its service deployment (local.service_deployments) says where it is.

While the new revision takes production traffic, an image whose manifest carries the annotation
``ecr-autodeploy.demo/http-5xx`` (a percentage of failing requests) puts the deployment's CloudWatch alarms in
ALARM after an emulated minute; with alarm rollback ECS rolls back: ROLLBACK_IN_PROGRESS, then
ROLLBACK_SUCCESSFUL with the alarm named, traffic and the task definition back on the previous revision.
Minutes are emulated: `minute_s` real seconds each (a demo does not wait 15 minutes for a canary).
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/canary-deployment.html
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.local.emulator import backend
from ecr_autodeploy.local.service_deployments import ServiceDeploymentBook

ALARM_AFTER_MINUTES = 1.0  # a CloudWatch alarm's evaluation period, in emulated minutes
Emit = Callable[[Any, dict[str, Any], str, str, str], None]  # (service, deployment, event name, reason, level)
Say = Callable[[Any, str], None]  # a message in the service's events


@frozen
class Step:
    """One lifecycle stage of a native deployment: traffic on the new revision, and how long ECS waits in it."""

    stage: str
    test: float = 0.0
    production: float = 0.0
    minutes: float = 0.0
    pause: bool = False


@dataclass
class Run:
    """One native deployment in progress."""

    arn: str
    green: str  # the deployments[] id of the new revision
    blue: str  # the task definition it replaces
    steps: list[Step]
    index: int = 0
    since: float = 0.0  # emulated minute the current stage began
    entered: float = 0.0  # the real clock when it began
    failures: int = 0
    errors_since: float | None = None
    hook: str | None = None  # the PAUSE hook it waits at
    rolling_back: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def steps_for(config: dict[str, Any]) -> list[Step]:
    """Return the lifecycle stages a native deployment with this configuration walks through."""
    strategy = config.get("strategy")
    paused = {
        s
        for h in config.get("lifecycleHooks") or []
        if h.get("targetType") == "PAUSE"
        for s in h.get("lifecycleStages") or []
    }
    found: list[Step] = []

    def hook(stage: str, test: float = 0.0, production: float = 0.0) -> None:
        if stage in paused:
            found.append(Step(stage, test, production, pause=True))

    hook("PRE_SCALE_UP")
    found.append(Step("SCALE_UP"))
    hook("POST_SCALE_UP")
    found.append(Step("TEST_TRAFFIC_SHIFT", test=100.0))
    hook("POST_TEST_TRAFFIC_SHIFT", test=100.0)
    if strategy == "CANARY":
        canary = config.get("canaryConfiguration") or {}
        shifts = [
            (float(canary.get("canaryPercent", 5.0)), float(canary.get("canaryBakeTimeInMinutes", 10))),
            (100.0, 0.0),
        ]
    elif strategy == "LINEAR":
        linear = config.get("linearConfiguration") or {}
        step, bake = float(linear.get("stepPercent", 10.0)), float(linear.get("stepBakeTimeInMinutes", 6))
        count = math.ceil(100 / step)
        shifts = [(min(100.0, round(step * (i + 1), 1)), bake if i < count - 1 else 0.0) for i in range(count)]
    else:
        shifts = [(100.0, 0.0)]
    before = 0.0
    for percent, bake in shifts:
        hook("PRE_PRODUCTION_TRAFFIC_SHIFT", 100.0, before)
        found.append(Step("PRODUCTION_TRAFFIC_SHIFT", 100.0, percent, bake))
        before = percent
    hook("POST_PRODUCTION_TRAFFIC_SHIFT", 100.0, 100.0)
    found.append(Step("BAKE_TIME", 100.0, 100.0, float(config.get("bakeTimeInMinutes") or 0)))
    found.append(Step("CLEAN_UP", 100.0, 100.0))
    return found


class NativeRollouts:
    """The native strategies' state machine over moto's services and the service-deployment book."""

    def __init__(
        self,
        book: ServiceDeploymentBook,
        emit: Emit,
        say: Say,
        *,
        minute_s: float = 0.05,
        min_stage_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.book = book
        # A stage that bakes lasts at least this long in real seconds, so that a watcher polling every few tenths
        # of a second sees it however fast the emulated minutes run.
        self.min_stage_s = min_stage_s
        self._emit = emit
        self._say = say
        self.minute_s = minute_s
        self._clock = clock
        self._started = clock()
        self.runs: dict[str, Run] = {}  # service ARN -> its native deployment in progress
        book.on_stop = self._stopped
        book.on_continue = self._continued

    def minutes(self) -> float:
        """Return the emulated minutes since this simulation started."""
        return (self._clock() - self._started) / self.minute_s

    def start(self, service: Any, sd: dict[str, Any], green: dict[str, Any], blue: str) -> None:
        """Begin a native deployment of `service` (its service deployment `sd`, new deployment `green`)."""
        config = dict(sd["deploymentConfiguration"])
        run = Run(sd["serviceDeploymentArn"], str(green["id"]), blue, steps_for(config), since=self.minutes())
        self.runs[service.arn] = run
        self._enter(service, run)

    def advance(self, service: Any, starts: bool, errors: float, desired: int) -> None:
        """Move one native deployment on by one tick (`starts`: its tasks start; `errors`: its 5xx percent)."""
        run = self.runs.get(service.arn)
        if run is None:
            return
        with self.book.lock:
            if run.rolling_back:
                self._rolled_back(service, run)
                return
            if run.hook is not None:
                return
            step = run.steps[run.index]
            now = self.minutes()
            if step.stage == "SCALE_UP" and not self._scale_up(service, run, starts, desired):
                return
            if step.production > 0 and errors > 0 and self._alarmed(service, run, now, errors):
                return
            if now - run.since < step.minutes:
                return
            if step.minutes and self._clock() - run.entered < self.min_stage_s:
                return
            run.index += 1
            if run.index == len(run.steps):
                self._succeeded(service, run)
            else:
                run.since = now
                self._enter(service, run)

    # ---- stages -------------------------------------------------------------------------------------------------

    def _enter(self, service: Any, run: Run) -> None:
        step = run.steps[run.index]
        run.entered = self._clock()
        if step.production > 0 and run.errors_since is None:
            run.errors_since = self.minutes()  # the failing requests begin with the first production traffic
        fields: dict[str, Any] = {"lifecycleStage": step.stage}
        if step.pause:
            run.hook = f"hook-{uuid.uuid4().hex[:12]}"
            expires = datetime.fromtimestamp(time.time() + 24 * 3600, UTC)
            fields["lifecycleHookDetails"] = [
                {
                    "hookId": run.hook,
                    "targetType": "PAUSE",
                    "status": "AWAITING_ACTION",
                    "expiresAt": expires,
                    "timeoutAction": "ROLLBACK",
                }
            ]
            self._say(service, f"(service {service.name}) service deployment paused at {step.stage}.")
        self.book.update(run.arn, **fields)
        self.book.target(
            run.arn, requestedTestTrafficWeight=step.test, requestedProductionTrafficWeight=step.production
        )

    def _scale_up(self, service: Any, run: Run, starts: bool, desired: int) -> bool:
        deployments = [dict(d) for d in service.deployments]
        green = next((d for d in deployments if d["id"] == run.green), None)
        if green is None:
            return False
        if not starts:
            run.failures += 1
            breaker = (service.deployment_configuration or {}).get("deploymentCircuitBreaker") or {}
            if breaker.get("enable") and run.failures >= max(3, math.ceil(desired / 2)):
                self._roll_back(service, run, "ECS deployment circuit breaker: tasks failed to start.", ())
            return False
        # A blue/green style deployment starts the whole new revision at once (it takes no traffic yet).
        running = desired
        green |= {"runningCount": running, "pendingCount": desired - running, "updatedAt": datetime.now(UTC)}
        service.deployments = [green if d["id"] == run.green else d for d in deployments]
        self.book.target(
            run.arn, runningTaskCount=running, pendingTaskCount=desired - running, requestedTaskCount=desired
        )
        return running >= desired

    def _alarmed(self, service: Any, run: Run, now: float, errors: float) -> bool:
        """Return True when the deployment's alarms went to ALARM (and ECS acts on it)."""
        if run.errors_since is None:
            run.errors_since = now
        if now - run.errors_since < ALARM_AFTER_MINUTES:
            return False
        alarms = (service.deployment_configuration or {}).get("alarms") or {}
        names = list(alarms.get("alarmNames") or [])
        if not alarms.get("enable") or not names:
            return False
        reason = f"Threshold Crossed: {errors:g}% of requests to the new revision failed (HTTP 5xx)"
        for name in names:
            _alarm_state(service.region_name, name, "ALARM", reason)
        if alarms.get("rollback"):
            self._roll_back(service, run, f"CloudWatch alarm {', '.join(names)} went to ALARM", tuple(names))
        else:
            self.book.update(run.arn, status="STOPPED", statusReason=f"CloudWatch alarm {', '.join(names)} in ALARM")
            self.book.deployments[run.arn]["alarms"] |= {"status": "TRIGGERED", "triggeredAlarmNames": names}
            del self.runs[service.arn]
        return True

    def _roll_back(self, service: Any, run: Run, reason: str, alarms: tuple[str, ...]) -> None:
        sd = self.book.deployments[run.arn]
        source = (sd.get("sourceServiceRevisions") or [{}])[0].get("arn")
        self.book.update(
            run.arn,
            status="ROLLBACK_IN_PROGRESS",
            statusReason=reason,
            rollback={"reason": reason, "startedAt": datetime.now(UTC), "serviceRevisionArn": source},
        )
        if alarms:
            sd["alarms"] |= {"status": "TRIGGERED", "triggeredAlarmNames": list(alarms)}
        self.book.target(run.arn, requestedTestTrafficWeight=0.0, requestedProductionTrafficWeight=0.0)
        deployments = [dict(d) for d in service.deployments]
        green = next((d for d in deployments if d["id"] == run.green), None)
        if green is not None:
            green |= {"rolloutState": "FAILED", "rolloutStateReason": reason, "updatedAt": datetime.now(UTC)}
            service.deployments = [green if d["id"] == run.green else d for d in deployments]
            self._emit(service, green, "SERVICE_DEPLOYMENT_FAILED", reason, "ERROR")
        self._say(service, f"(service {service.name}) rolling back service deployment: {reason}.")
        run.rolling_back = True

    def _rolled_back(self, service: Any, run: Run) -> None:
        blue = next((d for d in service.deployments if d["id"] != run.green), None)
        now = datetime.now(UTC)
        if blue is not None:
            service.deployments = [{**blue, "status": "PRIMARY", "rolloutState": "COMPLETED", "updatedAt": now}]
        service.task_definition = run.blue
        self.book.update(run.arn, status="ROLLBACK_SUCCESSFUL")
        self.book.target(run.arn, runningTaskCount=0, pendingTaskCount=0)
        for name in self.book.deployments[run.arn]["alarms"].get("triggeredAlarmNames") or []:
            _alarm_state(service.region_name, name, "OK", "the failing revision takes no traffic any more")
        self._say(service, f"(service {service.name}) has reached a steady state.")
        del self.runs[service.arn]

    def _succeeded(self, service: Any, run: Run) -> None:
        green = next(d for d in service.deployments if d["id"] == run.green)
        reason = f"ECS deployment {run.green} completed."
        done = {**green, "status": "PRIMARY", "rolloutState": "COMPLETED", "rolloutStateReason": reason}
        service.deployments = [done]
        self.book.update(run.arn, status="SUCCESSFUL", statusReason="Service deployment completed.")
        self.book.deployments[run.arn]["alarms"] |= {"status": "MONITORING_COMPLETE"}
        self._say(service, f"(service {service.name}) (deployment {run.green}) deployment completed.")
        self._emit(service, done, "SERVICE_DEPLOYMENT_COMPLETED", reason, "INFO")
        del self.runs[service.arn]

    # ---- Stop and Continue ----------------------------------------------------------------------------------

    def _run_of(self, arn: str) -> tuple[Any, Run] | None:
        for service_arn, run in self.runs.items():
            if run.arn == arn:
                _, region, account = service_arn.split(":")[2:5]
                cluster, name = service_arn.rsplit(":service/", 1)[1].split("/")
                return backend("ecs", region, account).services[f"{cluster}:{name}"], run
        return None

    def _stopped(self, arn: str, action: str) -> None:
        found = self._run_of(arn)
        if found is None:
            self.book.update(arn, status="STOPPED", statusReason=f"stopped by StopServiceDeployment ({action})")
            return
        service, run = found
        with self.book.lock:
            if action == "ROLLBACK":
                self._roll_back(service, run, "stopped with rollback by StopServiceDeployment", ())
            else:
                self.book.update(arn, status="STOPPED", statusReason="stopped by StopServiceDeployment (ABORT)")
                del self.runs[service.arn]

    def _continued(self, arn: str, hook_id: str, action: str) -> None:
        found = self._run_of(arn)
        if found is None:
            return
        service, run = found
        with self.book.lock:
            for hook in self.book.deployments[arn].get("lifecycleHookDetails", []):
                if hook["hookId"] == hook_id:
                    hook["status"] = "SUCCEEDED"
            run.hook = None
            run.since = self.minutes()
            if action == "ROLLBACK":
                self._roll_back(
                    service, run, f"rolled back at the PAUSE hook {hook_id} (ContinueServiceDeployment)", ()
                )


def _alarm_state(region: str, name: str, state: str, reason: str) -> None:
    """Set a CloudWatch alarm of the emulator (an alarm the world did not create is named all the same)."""
    alarms = backend("cloudwatch", region).alarms
    if name in alarms:
        alarms[name].update_state(reason, "{}", state)
