"""The Service Deployments API on the emulator (moto implements none of it), answered from the rollout simulation.

`ServiceDeploymentBook` holds the service deployments and revisions that the emulated ECS (local.ecs_rollout,
local.ecs_native) starts and moves on; `serve(book, region)` adds ListServiceDeployments,
DescribeServiceDeployments, DescribeServiceRevisions, StopServiceDeployment and ContinueServiceDeployment to
moto's ECS responses, in-process and behind its server alike, answering from the book of that region. The
shapes are botocore's (moto serialises the results against the service model).
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ecr_autodeploy.core.rollout import OPEN_STATUSES as OPEN
from ecr_autodeploy.local.emulator import ACCOUNT

_SERVED: dict[tuple[str, str], ServiceDeploymentBook] = {}  # (account, region) -> book
_SERVED_LOCK = threading.Lock()
_OPERATIONS = (
    "list_service_deployments",
    "describe_service_deployments",
    "describe_service_revisions",
    "stop_service_deployment",
    "continue_service_deployment",
)


class ServiceDeploymentBook:
    """The emulator's service deployments (API dicts) and revisions, keyed by ARN; thread-safe."""

    def __init__(self) -> None:
        self.deployments: dict[str, dict[str, Any]] = {}
        self.revisions: dict[str, dict[str, Any]] = {}
        self.ours: dict[str, str] = {}  # service deployment ARN -> the deployments[] id it runs
        self.requests: list[tuple[str, str, str]] = []  # (operation, ARN, action) of Stop and Continue calls
        self.lock = threading.RLock()
        # Set by the simulation: what Stop and Continue do to a service deployment (ARN, action).
        self.on_stop: Callable[[str, str], None] | None = None
        self.on_continue: Callable[[str, str, str], None] | None = None

    def start(self, service: Any, deployment: dict[str, Any], source_task_definitions: list[str]) -> dict[str, Any]:
        """Record the service deployment of a new deployment of a moto service; return it."""
        number = str(deployment["id"]).removeprefix("ecs-svc/")
        where = f"{service.cluster_name}/{service.name}"
        region, account = service.region_name, service._account_id
        now = datetime.now(UTC)
        target = self._revision(region, account, where, number, str(deployment["taskDefinition"]), service.arn)
        sources = [
            self._revision(region, account, where, uuid.uuid4().hex[:19], td, service.arn)
            for td in source_task_definitions
        ]
        arn = f"arn:aws:ecs:{region}:{account}:service-deployment/{where}/{uuid.uuid4().hex[:21]}"
        config = dict(getattr(service, "deployment_configuration", None) or {})
        alarms = config.get("alarms") or {}
        breaker = config.get("deploymentCircuitBreaker") or {}
        sd: dict[str, Any] = {
            "serviceDeploymentArn": arn,
            "serviceArn": service.arn,
            "clusterArn": service.cluster_arn,
            "createdAt": now,
            "startedAt": now,
            "updatedAt": now,
            "status": "IN_PROGRESS",
            "statusReason": "",
            "targetServiceRevision": {
                "arn": target,
                "requestedTaskCount": int(deployment.get("desiredCount", 0)),
                "runningTaskCount": 0,
                "pendingTaskCount": int(deployment.get("desiredCount", 0)),
                "requestedTestTrafficWeight": 0.0,
                "requestedProductionTrafficWeight": 0.0,
            },
            "sourceServiceRevisions": [{"arn": s, "requestedTaskCount": 0, "runningTaskCount": 0} for s in sources],
            "deploymentConfiguration": config,
            "deploymentCircuitBreaker": {
                "status": "MONITORING" if breaker.get("enable") else "DISABLED",
                "failureCount": 0,
                "threshold": 0,
            },
            "alarms": {
                "status": "MONITORING" if alarms.get("enable") else "DISABLED",
                "alarmNames": list(alarms.get("alarmNames") or []),
                "triggeredAlarmNames": [],
            },
        }
        with self.lock:
            for other in self.deployments.values():
                if other["serviceArn"] == service.arn and other["status"] in OPEN:
                    # A new deployment replaces the one in progress, as on ECS.
                    self._finish(other, "STOPPED", "stopped: a newer service deployment started")
            self.deployments[arn] = sd
            self.ours[arn] = str(deployment["id"])
        service.current_service_deployment = arn
        return sd

    def update(self, arn: str, **fields: Any) -> None:
        """Change fields of a service deployment (a status out of the open ones finishes it)."""
        with self.lock:
            sd = self.deployments[arn]
            sd.update(fields)
            sd["updatedAt"] = datetime.now(UTC)
            if fields.get("status") not in (None, *OPEN):
                sd["finishedAt"] = sd["updatedAt"]

    def target(self, arn: str, **counts: Any) -> None:
        """Change the target revision's task counts or traffic weights."""
        with self.lock:
            self.deployments[arn]["targetServiceRevision"].update(counts)

    def open_for(self, service_arn: str) -> list[dict[str, Any]]:
        """Return the service's service deployments still in progress."""
        with self.lock:
            return [sd for sd in self.deployments.values() if sd["serviceArn"] == service_arn and sd["status"] in OPEN]

    def _finish(self, sd: dict[str, Any], status: str, reason: str) -> None:
        sd.update(status=status, statusReason=reason, updatedAt=datetime.now(UTC))
        sd["finishedAt"] = sd["updatedAt"]

    def _revision(self, region: str, account: str, where: str, number: str, task_definition: str, service: str) -> str:
        arn = f"arn:aws:ecs:{region}:{account}:service-revision/{where}/{number}"
        with self.lock:
            self.revisions.setdefault(
                arn,
                {
                    "serviceRevisionArn": arn,
                    "serviceArn": service,
                    "clusterArn": f"arn:aws:ecs:{region}:{account}:cluster/{where.split('/')[0]}",
                    "taskDefinition": task_definition,
                    "createdAt": datetime.now(UTC),
                },
            )
        return arn


def serve(book: ServiceDeploymentBook, region: str, account: str = ACCOUNT) -> None:
    """Answer the Service Deployments calls of `region` from `book` (until `unserve`)."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    with _SERVED_LOCK:
        _SERVED[(account, region)] = book
        for name in _OPERATIONS:
            setattr(EC2ContainerServiceResponse, name, globals()[f"_{name}"])


def unserve(region: str, account: str = ACCOUNT) -> None:
    """Stop answering for `region`; with no region left, moto is as it was."""
    from moto.ecs.responses import EC2ContainerServiceResponse

    with _SERVED_LOCK:
        _SERVED.pop((account, region), None)
        if not _SERVED:
            for name in _OPERATIONS:
                if name in vars(EC2ContainerServiceResponse):
                    delattr(EC2ContainerServiceResponse, name)


# ---- the operations, as methods of moto's ECS response class ----------------------------------------------------


def _book(response: Any) -> ServiceDeploymentBook:
    from moto.core.exceptions import JsonRESTError

    book = _SERVED.get((response.current_account, response.region))
    if book is None:
        raise JsonRESTError("UnsupportedFeatureException", "Service deployments are not emulated in this region.")
    return book


def _found(book: ServiceDeploymentBook, arn: str) -> dict[str, Any]:
    from moto.core.exceptions import JsonRESTError

    sd = book.deployments.get(arn)
    if sd is None:
        raise JsonRESTError("ServiceDeploymentNotFoundException", f"Service deployment {arn} was not found.")
    return sd


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            return datetime.fromtimestamp(float(value), UTC)
        except ValueError:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return None


def _list_service_deployments(self: Any) -> Any:
    from moto.core.responses import ActionResult

    book = _book(self)
    service = str(self._get_param("service", "")).rsplit("/", 1)[-1]
    cluster = str(self._get_param("cluster") or "default").rsplit("/", 1)[-1]
    wanted = set(self._get_param("status") or [])
    created = self._get_param("createdAt") or {}
    after, before = _timestamp(created.get("after")), _timestamp(created.get("before"))
    with book.lock:
        found = [
            sd
            for sd in book.deployments.values()
            if sd["serviceArn"].endswith(f":service/{cluster}/{service}")
            and (not wanted or sd["status"] in wanted)
            and (after is None or sd["createdAt"] >= after)
            and (before is None or sd["createdAt"] <= before)
        ]
        briefs = [
            {
                "serviceDeploymentArn": sd["serviceDeploymentArn"],
                "serviceArn": sd["serviceArn"],
                "clusterArn": sd["clusterArn"],
                "createdAt": sd["createdAt"],
                "startedAt": sd["startedAt"],
                "targetServiceRevisionArn": sd["targetServiceRevision"]["arn"],
                "status": sd["status"],
                "statusReason": sd["statusReason"],
                **({"finishedAt": sd["finishedAt"]} if "finishedAt" in sd else {}),
            }
            for sd in sorted(found, key=lambda sd: sd["createdAt"], reverse=True)
        ]
    return ActionResult({"serviceDeployments": briefs})


def _describe_service_deployments(self: Any) -> Any:
    import copy

    from moto.core.responses import ActionResult

    book = _book(self)
    arns = list(self._get_param("serviceDeploymentArns") or [])
    with book.lock:
        found = [copy.deepcopy(book.deployments[a]) for a in arns if a in book.deployments]
    failures = [{"arn": a, "reason": "MISSING"} for a in arns if a not in book.deployments]
    return ActionResult({"serviceDeployments": found, "failures": failures})


def _describe_service_revisions(self: Any) -> Any:
    from moto.core.responses import ActionResult

    book = _book(self)
    arns = list(self._get_param("serviceRevisionArns") or [])
    with book.lock:
        found = [dict(book.revisions[a]) for a in arns if a in book.revisions]
    failures = [{"arn": a, "reason": "MISSING"} for a in arns if a not in book.revisions]
    return ActionResult({"serviceRevisions": found, "failures": failures})


def _stop_service_deployment(self: Any) -> Any:
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult

    book = _book(self)
    arn = str(self._get_param("serviceDeploymentArn"))
    sd = _found(book, arn)
    if sd["status"] not in OPEN:
        raise JsonRESTError("ConflictException", f"Service deployment {arn} is {sd['status']}: it cannot be stopped.")
    action = str(self._get_param("stopType") or "ROLLBACK")
    book.requests.append(("StopServiceDeployment", arn, action))
    if book.on_stop is not None:
        book.on_stop(arn, action)
    return ActionResult({"serviceDeploymentArn": arn})


def _continue_service_deployment(self: Any) -> Any:
    from moto.core.exceptions import JsonRESTError
    from moto.core.responses import ActionResult

    book = _book(self)
    arn = str(self._get_param("serviceDeploymentArn"))
    hook_id = str(self._get_param("hookId"))
    sd = _found(book, arn)
    waiting = [h for h in sd.get("lifecycleHookDetails", []) if h["hookId"] == hook_id]
    if not waiting or waiting[0]["status"] != "AWAITING_ACTION":
        raise JsonRESTError("InvalidParameterException", f"Hook {hook_id} of {arn} is not awaiting action.")
    action = str(self._get_param("action") or "CONTINUE")
    book.requests.append(("ContinueServiceDeployment", arn, action))
    if book.on_continue is not None:
        book.on_continue(arn, hook_id, action)
    return ActionResult({"serviceDeploymentArn": arn})
