"""The Service Deployments API (2025): find the service deployment our UpdateService started, describe, stop, continue.

Every call first checks that the client's botocore knows the operation (a Lambda runtime's boto3 may predate
it). Where the client lacks it, or the endpoint answers that it does not support it, the read calls return None
and the caller judges the deployment by ``deployments[]`` as before; a missing permission (an installation that
predates these grants) is logged and treated the same way.
https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeServiceDeployments.html
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.model import LifecycleHook, ServiceDeployment, ServiceRef

if TYPE_CHECKING:
    from mypy_boto3_ecs import ECSClient

logger = logging.getLogger("ecr_autodeploy")
OPERATIONS = (
    "ListServiceDeployments",
    "DescribeServiceDeployments",
    "DescribeServiceRevisions",
    "StopServiceDeployment",
    "ContinueServiceDeployment",
)
# An endpoint (a region, an emulator) that does not have the API answers one of these.
UNSUPPORTED_CODES = frozenset(
    {"UnsupportedFeatureException", "UnknownOperationException", "InvalidAction", "InvalidActionException"}
)
DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})
SERVER_ERROR_CODES = frozenset({"500", "InternalFailure", "InternalServerError"})
DESCRIBE_BATCH = 20  # DescribeServiceDeployments and DescribeServiceRevisions take at most 20 ARNs
LIST_PAGES = 3  # ListServiceDeployments pages of 100 read to find one deployment
# Our UpdateService and the service deployment it started are stamped by two clocks (ours and ECS's).
CLOCK_SLACK = timedelta(seconds=60)


class Unavailable(Exception):
    """The Service Deployments API cannot be used here (old botocore, endpoint without it, no permission)."""


class ServiceDeployments:
    """The Service Deployments calls, per region and assumed role; aws.ecs.Cluster inherits them."""

    def __init__(self, clients: Clients) -> None:
        self._clients = clients
        self._unsupported: set[tuple[str, str | None]] = set()
        self._lock = threading.Lock()

    def supports(self, ref: ServiceRef, operation: str = "DescribeServiceDeployments") -> bool:
        """Return True when the client knows `operation` and the endpoint has not refused the API."""
        with self._lock:
            if (ref.region, ref.role_arn) in self._unsupported:
                return False
        return operation in self._sd_client(ref).meta.service_model.operation_names

    def find_service_deployment(
        self, ref: ServiceRef, *, since: datetime, deployment_id: str | None, task_definition: str | None
    ) -> ServiceDeployment | None:
        """Return the service deployment that the deployment started at `since` runs (None: not found or no API).

        ListServiceDeployments finds the candidates created around `since`; one whose target service revision has
        the deployment's id as its own is taken at once, else the candidates' revisions are described and the one
        deploying `task_definition`, created nearest `since`, is ours.
        """
        try:
            with self._sd_available(ref, "ListServiceDeployments"):
                briefs = self._sd_list(ref, since - CLOCK_SLACK)
                if not briefs:
                    return None
                number = (deployment_id or "").removeprefix("ecs-svc/")
                exact = [
                    b for b in briefs if number and str(b.get("targetServiceRevisionArn", "")).endswith(f"/{number}")
                ]
                if exact:
                    chosen = exact[0]
                else:
                    matching = self._sd_deploying(ref, briefs, task_definition)
                    if not matching:
                        return None
                    chosen = min(matching, key=lambda b: abs(_when(b, since) - since))
                found = self._sd_describe(ref, [str(chosen["serviceDeploymentArn"])])
        except Unavailable:
            return None
        return next(iter(found.values()), None)

    def service_deployments(self, ref: ServiceRef, arns: Sequence[str]) -> dict[str, ServiceDeployment] | None:
        """Return the described service deployments by ARN (missing ones left out), or None without the API."""
        try:
            with self._sd_available(ref, "DescribeServiceDeployments"):
                return self._sd_describe(ref, arns)
        except Unavailable:
            return None

    def stop_service_deployment(self, ref: ServiceRef, arn: str, *, rollback: bool = True) -> None:
        """Stop a service deployment (with `rollback`, ECS rolls back to the previous service revision)."""
        client = self._required(ref, "StopServiceDeployment")
        with aws_errors("stopping service deployment", arn):
            client.stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK" if rollback else "ABORT")

    def continue_service_deployment(self, ref: ServiceRef, arn: str, hook_id: str, *, rollback: bool = False) -> None:
        """Resume a service deployment held at a PAUSE hook (with `rollback`, roll it back instead)."""
        client = self._required(ref, "ContinueServiceDeployment")
        action: Literal["CONTINUE", "ROLLBACK"] = "ROLLBACK" if rollback else "CONTINUE"
        with aws_errors("continuing service deployment", arn):
            client.continue_service_deployment(serviceDeploymentArn=arn, hookId=hook_id, action=action)

    # ---- calls ------------------------------------------------------------------------------------------------

    def _sd_client(self, ref: ServiceRef) -> ECSClient:
        return self._clients.ecs(ref.region, ref.role_arn)

    def _required(self, ref: ServiceRef, operation: str) -> ECSClient:
        client = self._sd_client(ref)
        if operation not in client.meta.service_model.operation_names:
            raise AwsError(
                operation,
                "OperationNotAvailable",
                "this boto3/botocore predates the Service Deployments API; upgrade boto3",
                resource=ref.key,
            )
        return client

    def _sd_list(self, ref: ServiceRef, after: datetime) -> list[Mapping[str, Any]]:
        client = self._sd_client(ref)
        briefs: list[Mapping[str, Any]] = []
        token: str | None = None
        for _ in range(LIST_PAGES):
            kwargs: dict[str, Any] = {
                "cluster": ref.cluster,
                "service": ref.service,
                "createdAt": {"after": after},
                "maxResults": 100,
            }
            if token:
                kwargs["nextToken"] = token
            with aws_errors("listing service deployments", ref.key):
                page = client.list_service_deployments(**kwargs)
            briefs.extend(page.get("serviceDeployments", []))
            token = page.get("nextToken")
            if not token:
                break
        return briefs

    def _sd_describe(self, ref: ServiceRef, arns: Sequence[str]) -> dict[str, ServiceDeployment]:
        client = self._sd_client(ref)
        found: dict[str, ServiceDeployment] = {}
        for start in range(0, len(arns), DESCRIBE_BATCH):
            with aws_errors("describing service deployments", ref.key):
                page = client.describe_service_deployments(
                    serviceDeploymentArns=list(arns[start : start + DESCRIBE_BATCH])
                )
            for item in page.get("serviceDeployments", []):
                sd = service_deployment_from(item)
                found[sd.arn] = sd
        return found

    def _sd_deploying(
        self, ref: ServiceRef, briefs: Sequence[Mapping[str, Any]], task_definition: str | None
    ) -> list[Mapping[str, Any]]:
        """Return the candidates whose target revision runs `task_definition` (all of them when it is unknown)."""
        if (
            task_definition is None
            or "DescribeServiceRevisions" not in self._sd_client(ref).meta.service_model.operation_names
        ):
            return list(briefs)
        revisions = [str(b["targetServiceRevisionArn"]) for b in briefs if b.get("targetServiceRevisionArn")]
        runs: dict[str, str] = {}
        client = self._sd_client(ref)
        for start in range(0, len(revisions), DESCRIBE_BATCH):
            with aws_errors("describing service revisions", ref.key):
                page = client.describe_service_revisions(serviceRevisionArns=revisions[start : start + DESCRIBE_BATCH])
            runs.update(
                {
                    str(r.get("serviceRevisionArn")): str(r.get("taskDefinition"))
                    for r in page.get("serviceRevisions", [])
                }
            )
        return [b for b in briefs if runs.get(str(b.get("targetServiceRevisionArn"))) == task_definition]

    @contextmanager
    def _sd_available(self, ref: ServiceRef, operation: str) -> Iterator[None]:
        """Run calls of the API; raise Unavailable when this client or endpoint cannot make them."""
        if not self.supports(ref, operation):
            raise Unavailable(operation)
        try:
            yield
        except NotImplementedError as err:
            # moto's in-process mock raises this for operations it does not implement.
            self._mark_unsupported(ref, operation, str(err))
            raise Unavailable(operation) from err
        except AwsError as err:
            cause = err.__cause__
            code = cause.response.get("Error", {}).get("Code") if isinstance(cause, ClientError) else err.code
            if code in UNSUPPORTED_CODES:
                self._mark_unsupported(ref, operation, str(err))
                raise Unavailable(operation) from err
            if code in SERVER_ERROR_CODES and not self._on_aws(ref):
                # An emulator without the API answers 500 (moto's server: "not been implemented"); AWS's 500s are
                # transient, retried by botocore, and raised.
                self._mark_unsupported(ref, operation, str(err))
                raise Unavailable(operation) from err
            if code in DENIED_CODES:
                # Not remembered: a re-install grants it without restarting a warm function.
                logger.warning(json.dumps({"service": ref.key, "service deployments": "denied", "error": str(err)}))
                raise Unavailable(operation) from err
            raise

    def _on_aws(self, ref: ServiceRef) -> bool:
        host = urlsplit(self._clients.ecs(ref.region, ref.role_arn).meta.endpoint_url).hostname or ""
        return host.endswith((".amazonaws.com", ".amazonaws.com.cn"))

    def _mark_unsupported(self, ref: ServiceRef, operation: str, why: str) -> None:
        with self._lock:
            self._unsupported.add((ref.region, ref.role_arn))
        logger.info(json.dumps({"region": ref.region, "service deployments": "not available", "reason": why[:200]}))


def _when(brief: Mapping[str, Any], default: datetime) -> datetime:
    created = brief.get("createdAt") or brief.get("startedAt")
    return created if isinstance(created, datetime) else default


def service_deployment_from(item: Mapping[str, Any]) -> ServiceDeployment:
    """Return a ServiceDeployment from a DescribeServiceDeployments entry."""
    target = item.get("targetServiceRevision") or {}
    rollback = item.get("rollback") or {}
    alarms = item.get("alarms") or {}
    breaker = item.get("deploymentCircuitBreaker") or {}
    hooks = tuple(
        LifecycleHook(
            hook_id=str(h.get("hookId", "")),
            target_type=str(h.get("targetType", "")),
            status=str(h.get("status", "")),
            expires_at=h.get("expiresAt") if isinstance(h.get("expiresAt"), datetime) else None,
            timeout_action=h.get("timeoutAction"),
        )
        for h in item.get("lifecycleHookDetails") or []
    )
    created = item.get("createdAt")
    finished = item.get("finishedAt") or item.get("stoppedAt")

    def weight(key: str) -> float | None:
        value = target.get(key)
        return float(value) if isinstance(value, int | float) else None

    return ServiceDeployment(
        arn=str(item.get("serviceDeploymentArn", "")),
        status=str(item.get("status", "")),
        stage=item.get("lifecycleStage"),
        reason=str(item.get("statusReason") or ""),
        target_revision=target.get("arn"),
        running=int(target.get("runningTaskCount") or 0),
        requested=int(target.get("requestedTaskCount") or 0),
        pending=int(target.get("pendingTaskCount") or 0),
        test_traffic=weight("requestedTestTrafficWeight"),
        production_traffic=weight("requestedProductionTrafficWeight"),
        configuration=dict(item.get("deploymentConfiguration") or {}),
        rollback_reason=rollback.get("reason"),
        rollback_revision=rollback.get("serviceRevisionArn"),
        alarms=tuple(str(a) for a in alarms.get("alarmNames") or ()),
        triggered_alarms=tuple(str(a) for a in alarms.get("triggeredAlarmNames") or ()),
        breaker_failures=int(breaker.get("failureCount") or 0),
        breaker_threshold=int(breaker.get("threshold") or 0),
        hooks=hooks,
        created_at=created if isinstance(created, datetime) else None,
        finished_at=finished if isinstance(finished, datetime) else None,
    )
