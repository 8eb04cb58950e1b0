"""ECS deployments on the emulator, progressed the way ECS does (moto keeps one deployment, IN_PROGRESS forever).

What ECS does and this glue copies, by editing moto's in-process ECS state:
  * ``UpdateService`` with another task definition (or ``forceNewDeployment``) starts a new PRIMARY deployment,
    IN_PROGRESS, and the previous one becomes ACTIVE; the UpdateService response already shows the new one.
  * Every tick the new deployment's tasks start (running counts rise, the ACTIVE deployment drains); once steady
    for a few ticks it is COMPLETED and the drained deployments leave the list.
  * A task of a broken image fails to start. With the deployment circuit breaker on, after ``threshold`` failed
    tasks (0.5 x desired, at least 3, at most 200) the deployment is FAILED ("ECS deployment circuit breaker:
    tasks failed to start."); with rollback on, a new PRIMARY deployment of the last COMPLETED task definition
    starts and completes, and the failed one stays listed (ACTIVE, FAILED) until then.
  * Each transition emits "ECS Deployment State Change" (SERVICE_DEPLOYMENT_IN_PROGRESS / _COMPLETED / _FAILED)
    on the default event bus of the region, and a message in the service's ``events``.

A task "fails to start" when an essential container's image cannot be pulled from the emulator's ECR (no such
repository, tag or digest: CannotPullContainerError), or when its image manifest carries the annotation
``ecr-autodeploy.demo/exit-code`` with a non-zero value (the container exits at start). Images outside ECR
(public registries) start.

Every deployment also gets its service deployment (local.service_deployments serves the API from it): a
rolling one mirrors the deployment (IN_PROGRESS, SUCCESSFUL, ROLLBACK_IN_PROGRESS then ROLLBACK_SUCCESSFUL after
a circuit-breaker rollback, STOPPED when replaced); a service on a native strategy (BLUE_GREEN, LINEAR, CANARY)
walks its lifecycle stages in local.ecs_native.
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html
https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html
"""

from __future__ import annotations

import json
import math
import random
import re
import threading
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.image_refs import split_image
from ecr_autodeploy.core.strategies import NATIVE_STRATEGIES
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.local.ecs_native import NativeRollouts
from ecr_autodeploy.local.emulator import ACCOUNT, backend
from ecr_autodeploy.local.events import deployment_detail
from ecr_autodeploy.local.service_deployments import ServiceDeploymentBook, serve, unserve

EXIT_CODE_ANNOTATION = "ecr-autodeploy.demo/exit-code"
ERRORS_ANNOTATION = "ecr-autodeploy.demo/http-5xx"  # percent of requests the app fails once it takes traffic
DETAIL_TYPE = "ECS Deployment State Change"
BREAKER_REASON = "ECS deployment circuit breaker: tasks failed to start."
_ECR_HOST_RE = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$")
_PUT_EVENTS_BATCH = 10  # PutEvents takes at most 10 entries


@frozen
class TaskHealth:
    """Whether tasks of a task definition start; `reason` is the stopped reason ECS would give when not."""

    starts: bool
    reason: str = ""
    errors: float = 0.0  # percent of requests failing (HTTP 5xx) once its tasks take traffic


def failure_threshold(desired: int) -> int:
    """Return the circuit breaker's failed-task threshold for a desired count (0.5 x desired, within 3..200)."""
    return max(3, min(200, math.ceil(0.5 * desired)))


class EcsRollouts:
    """Advance the emulator's ECS deployments in `regions`: a ticker thread, or tick() by hand in tests."""

    def __init__(
        self,
        clients: Clients,
        regions: Sequence[str],
        *,
        account: str = ACCOUNT,
        interval: float = 0.2,
        settle_ticks: int = 2,
        minute_s: float = 0.05,
        min_stage_s: float = 0.0,
    ) -> None:
        self._clients = clients
        self._regions = tuple(dict.fromkeys(regions))
        self._account = account
        self.interval = interval
        self._settle_ticks = settle_ticks
        self._lock = threading.RLock()
        self._health: dict[str, TaskHealth] = {}
        self._stable: dict[str, int] = {}
        self._rollbacks: set[str] = set()
        self._outbox: list[tuple[str, dict[str, Any]]] = []
        self._hooked: list[Any] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []  # failures of the background ticker, reported by whoever runs it
        self.emitted: list[dict[str, Any]] = []
        self.book = ServiceDeploymentBook()
        self._sd_rollbacks: dict[str, str] = {}  # service deployment ARN -> the rollback deployment's id
        self.native = NativeRollouts(self.book, self._emit, _service_event, minute_s=minute_s, min_stage_s=min_stage_s)

    # ---- lifecycle ----------------------------------------------------------------------------------------

    def hook(self) -> EcsRollouts:
        """Make UpdateService start deployments the way ECS does; return self."""
        for region in self._regions:
            ecs = backend("ecs", region, self._account)
            original = ecs.update_service

            def update_service(props: dict[str, Any], _ecs: Any = ecs, _original: Any = original) -> Any:
                return self._update_service(_ecs, _original, props)

            # An instance attribute shadows the class method for this backend only; unhook() deletes it.
            ecs.update_service = update_service
            self._hooked.append(ecs)
            serve(self.book, region, self._account)
        return self

    def unhook(self) -> None:
        """Give UpdateService back to moto."""
        for ecs in self._hooked:
            vars(ecs).pop("update_service", None)
        if self._hooked:
            for region in self._regions:
                unserve(region, self._account)
        self._hooked.clear()

    def start(self) -> EcsRollouts:
        """Hook UpdateService and start the ticker thread; return self."""
        if not self._hooked:
            self.hook()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="emulated-ecs", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the ticker and unhook; safe to call twice."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join()
        self.unhook()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.tick()
            except Exception as err:  # noqa: BLE001 - a background thread reports its failure instead of dying silently
                self.errors.append(f"advancing ECS deployments: {type(err).__name__}: {err}")
                return

    # ---- the ECS behaviour --------------------------------------------------------------------------------

    def tick(self) -> None:
        """Advance every deployment in progress by one step, then send the state-change events."""
        with self._lock:
            for region in self._regions:
                for service in list(backend("ecs", region, self._account).services.values()):
                    if service.status != "ACTIVE" or not service.deployments:
                        continue
                    if service.arn in self.native.runs:
                        self._advance_native(region, service)
                    else:
                        self._advance(region, service)
                        self._mirror(service)
        self.flush()

    def settle(self) -> None:
        """Complete every deployment in progress at once (and its service deployment): services that have been
        running for a while."""
        with self._lock:
            for region in self._regions:
                for service in backend("ecs", region, self._account).services.values():
                    primary = service.deployments[0] if service.deployments else None
                    if primary is None or primary.get("rolloutState") != "IN_PROGRESS":
                        continue
                    desired = int(primary["desiredCount"])
                    done = {**primary, "runningCount": desired, "pendingCount": 0, "updatedAt": _now()}
                    done |= {"rolloutState": "COMPLETED", "rolloutStateReason": _completed(primary["id"])}
                    service.deployments = [done]
                    service.running_count, service.pending_count = desired, 0
                    _service_event(service, f"(service {service.name}) has reached a steady state.")
                    if service.arn not in self.native.runs:
                        self._mirror(service)  # its service deployment is SUCCESSFUL too

    def flush(self) -> None:
        """Put the pending "ECS Deployment State Change" events on each region's default bus."""
        with self._lock:
            outbox, self._outbox = self._outbox, []
        for region in dict.fromkeys(r for r, _ in outbox):
            entries = [e for r, e in outbox if r == region]
            events = self._clients.client("events", region)
            for start in range(0, len(entries), _PUT_EVENTS_BATCH):
                batch = entries[start : start + _PUT_EVENTS_BATCH]
                with aws_errors("emitting ECS deployment events", region):
                    answer = events.put_events(Entries=batch)
                if answer.get("FailedEntryCount"):
                    raise RuntimeError(f"PutEvents refused ECS deployment events in {region}: {answer['Entries']}")
                self.emitted.extend(batch)

    def _update_service(self, ecs: Any, original: Callable[[dict[str, Any]], Any], props: dict[str, Any]) -> Any:
        wanted = props.get("task_definition")
        force = bool(props.get("force_new_deployment"))
        with self._lock:
            found, _ = ecs.describe_services(props.get("cluster", "default"), [props.get("service", "")])
            before = [dict(d) for d in found[0].deployments] if found else []
            service = original(props)
            if wanted:
                service.task_definition = ecs.describe_task_definition(str(wanted)).arn
            previous = before[0]["taskDefinition"] if before else None
            if before and (force or service.task_definition != previous):
                # moto renamed the current deployment in place on a forced update; ECS starts a new one instead.
                active = [{**d, "status": "ACTIVE"} for d in before]
                new = _deployment(before[0], service.task_definition, int(service.desired_count))
                service.deployments = [new, *active]
                _service_event(service, f"(service {service.name}) has begun a new deployment {new['id']}.")
                self._emit(service, new, "SERVICE_DEPLOYMENT_IN_PROGRESS", _in_progress(new["id"]))
                sd = self.book.start(service, new, [str(previous)] if previous else [])
                strategy = (getattr(service, "deployment_configuration", None) or {}).get("strategy")
                if strategy in NATIVE_STRATEGIES and previous:
                    self.native.start(service, sd, new, str(previous))
            return service

    def _advance(self, region: str, service: Any) -> None:
        deployments = [dict(d) for d in service.deployments]
        primary = deployments[0]
        if primary.get("status") != "PRIMARY" or primary.get("rolloutState") != "IN_PROGRESS":
            return
        health = self._task_health(region, primary["taskDefinition"])
        if health.starts:
            deployments = self._start_tasks(service, deployments)
        else:
            deployments = self._fail_task(service, deployments, health)
        service.deployments = deployments
        service.running_count = sum(int(d.get("runningCount", 0)) for d in deployments)
        service.pending_count = sum(int(d.get("pendingCount", 0)) for d in deployments)

    def _advance_native(self, region: str, service: Any) -> None:
        primary = service.deployments[0]
        health = self._task_health(region, str(primary["taskDefinition"]))
        self.native.advance(service, health.starts, health.errors, int(service.desired_count))
        service.running_count = sum(int(d.get("runningCount", 0)) for d in service.deployments)

    def _mirror(self, service: Any) -> None:
        """Keep a rolling deployment's service deployment in step with the deployment itself."""
        by_id = {str(d["id"]): d for d in service.deployments}
        for sd in self.book.open_for(service.arn):
            arn = sd["serviceDeploymentArn"]
            ours = by_id.get(self.book.ours[arn])
            back = by_id.get(self._sd_rollbacks.get(arn, ""))
            if arn in self._sd_rollbacks:
                if back is None or back.get("rolloutState") == "COMPLETED":
                    self.book.update(arn, status="ROLLBACK_SUCCESSFUL")
                continue
            if ours is None or ours.get("rolloutState") == "COMPLETED":
                self.book.update(arn, status="SUCCESSFUL", statusReason="Service deployment completed.")
                continue
            self.book.target(
                arn,
                runningTaskCount=int(ours.get("runningCount", 0)),
                pendingTaskCount=int(ours.get("pendingCount", 0)),
            )
            sd["deploymentCircuitBreaker"]["failureCount"] = int(ours.get("failedTasks", 0))
            if ours.get("rolloutState") != "FAILED":
                continue
            reason = str(ours.get("rolloutStateReason") or BREAKER_REASON)
            primary = service.deployments[0]
            if primary["id"] in self._rollbacks and primary["id"] != ours["id"]:
                self._sd_rollbacks[arn] = str(primary["id"])
                rollback = {"reason": str(primary.get("rolloutStateReason")), "startedAt": _now()}
                self.book.update(arn, status="ROLLBACK_IN_PROGRESS", statusReason=reason, rollback=rollback)
                sd["deploymentCircuitBreaker"]["status"] = "TRIGGERED"
            else:
                self.book.update(arn, status="STOPPED", statusReason=reason)

    def _start_tasks(self, service: Any, deployments: list[dict[str, Any]]) -> list[dict[str, Any]]:
        primary, others = deployments[0], deployments[1:]
        desired = int(primary["desiredCount"])
        running = int(primary.get("runningCount", 0))
        step = max(1, desired // 2)
        if running < desired:
            started = min(step, desired - running)
            primary |= {"runningCount": running + started, "pendingCount": desired - running - started}
            primary["updatedAt"] = _now()
            tasks = ", ".join(f"(task {_task_id()})" for _ in range(started))
            _service_event(service, f"(service {service.name}) has started {started} tasks: {tasks}.")
            return [primary, *(_drain(d, started) for d in others)]
        if any(int(d.get("runningCount", 0)) for d in others):
            return [primary, *(_drain(d, step) for d in others)]
        stable = self._stable.get(primary["id"], 0) + 1
        self._stable[primary["id"]] = stable
        if stable < self._settle_ticks:
            return deployments
        primary |= {"rolloutState": "COMPLETED", "rolloutStateReason": _completed(primary["id"]), "updatedAt": _now()}
        _service_event(service, f"(service {service.name}) (deployment {primary['id']}) deployment completed.")
        _service_event(service, f"(service {service.name}) has reached a steady state.")
        self._emit(service, primary, "SERVICE_DEPLOYMENT_COMPLETED", _completed(primary["id"]))
        return [primary]

    def _fail_task(self, service: Any, deployments: list[dict[str, Any]], health: TaskHealth) -> list[dict[str, Any]]:
        primary, others = deployments[0], deployments[1:]
        desired = int(primary["desiredCount"])
        failed = int(primary.get("failedTasks", 0)) + 1
        primary |= {"failedTasks": failed, "runningCount": 0, "pendingCount": desired, "updatedAt": _now()}
        task = _task_id()
        _service_event(service, f"(service {service.name}) has started 1 tasks: (task {task}).")
        _service_event(service, f"(service {service.name}) (task {task}) stopped: {health.reason}")
        breaker = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
        if not breaker.get("enable") or failed < failure_threshold(desired):
            return [primary, *others]
        primary |= {"rolloutState": "FAILED", "rolloutStateReason": BREAKER_REASON}
        _service_event(
            service, f"(service {service.name}) (deployment {primary['id']}) deployment failed: tasks failed to start."
        )
        self._emit(service, primary, "SERVICE_DEPLOYMENT_FAILED", BREAKER_REASON, level="ERROR")
        last_good = next((d for d in others if d.get("rolloutState") == "COMPLETED"), None)
        # A failed rollback is not rolled back again: it stays FAILED for someone to look at.
        if not breaker.get("rollback") or last_good is None or primary["id"] in self._rollbacks:
            return [primary, *others]
        back = _deployment(primary, str(last_good["taskDefinition"]), desired)
        back["rolloutStateReason"] = f"ECS deployment circuit breaker: rolling back to deploymentId {last_good['id']}."
        self._rollbacks.add(back["id"])
        service.task_definition = back["taskDefinition"]
        _service_event(service, f"(service {service.name}) rolling back to deployment {last_good['id']}.")
        self._emit(service, back, "SERVICE_DEPLOYMENT_IN_PROGRESS", back["rolloutStateReason"])
        return [back, {**primary, "status": "ACTIVE"}, *others]

    def _task_health(self, region: str, task_definition_arn: str) -> TaskHealth:
        found = self._health.get(task_definition_arn)
        if found is None:
            found = task_health(region, task_definition_arn, self._account)
            self._health[task_definition_arn] = found
        return found

    def _emit(self, service: Any, deployment: dict[str, Any], name: str, reason: str, level: str = "INFO") -> None:
        detail = {**deployment_detail(str(deployment["id"]), name.removeprefix("SERVICE_DEPLOYMENT_"), reason)}
        detail["eventType"] = level
        entry = {
            "Source": "aws.ecs",
            "DetailType": DETAIL_TYPE,
            "Resources": [service.arn],
            "Detail": json.dumps(detail),
        }
        self._outbox.append((service.region_name, entry))


def task_health(region: str, task_definition_arn: str, account: str = ACCOUNT) -> TaskHealth:
    """Return whether tasks of this task definition start in the emulator, and why not."""
    td = backend("ecs", region, account).describe_task_definition(task_definition_arn)
    errors = 0.0
    for container in td.container_definitions:
        if not container.get("essential", True):
            continue
        health = image_health(str(container.get("image", "")))
        if not health.starts:
            return TaskHealth(False, f"{health.reason} (container {container.get('name')})")
        errors = max(errors, health.errors)
    return TaskHealth(True, errors=errors)


def image_health(image: str) -> TaskHealth:
    """Return whether a container of `image` starts: pullable from the emulator's ECR and not marked to exit."""
    host, repository, tag, digest = split_image(image)
    match = _ECR_HOST_RE.match(host or "")
    if match is None:
        return TaskHealth(True)
    account, region = match.groups()
    pull_error = TaskHealth(
        False,
        f"CannotPullContainerError: pull image manifest has been retried 7 time(s): "
        f"failed to resolve ref {image}: not found",
    )
    repo = backend("ecr", region, account).repositories.get(repository)
    if repo is None:
        return pull_error
    wanted = next(
        (
            i
            for i in repo.images
            if (digest is not None and i.get_image_digest() == digest)
            or (digest is None and (tag or "latest") in i.image_tags)
        ),
        None,
    )
    if wanted is None:
        return pull_error
    annotations = json.loads(wanted.image_manifest).get("annotations") or {}
    code = int(annotations.get(EXIT_CODE_ANNOTATION, "0"))
    if code:
        return TaskHealth(False, f"Essential container in task exited (exit code {code})")
    return TaskHealth(True, errors=float(annotations.get(ERRORS_ANNOTATION, "0")))


def _deployment(template: dict[str, Any], task_definition: str, desired: int) -> dict[str, Any]:
    now = _now()
    deployment_id = f"ecs-svc/{random.randrange(10**18, 10**19)}"
    return {
        **template,
        "id": deployment_id,
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "desiredCount": desired,
        "pendingCount": desired,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now,
        "updatedAt": now,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": _in_progress(deployment_id),
    }


def _drain(deployment: dict[str, Any], stopped: int) -> dict[str, Any]:
    running = max(0, int(deployment.get("runningCount", 0)) - stopped)
    return {**deployment, "runningCount": running, "pendingCount": 0, "updatedAt": _now()}


def _service_event(service: Any, message: str) -> None:
    # ECS lists service events newest first and keeps the last 100.
    event = {"id": str(uuid.uuid4()), "createdAt": _now(), "message": message}
    service.events = [event, *service.events][:100]


def _in_progress(deployment_id: str) -> str:
    return f"ECS deployment {deployment_id} in progress."


def _completed(deployment_id: str) -> str:
    return f"ECS deployment {deployment_id} completed."


def _task_id() -> str:
    return uuid.uuid4().hex


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
