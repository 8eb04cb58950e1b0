"""The domain values every layer speaks: a service's address, what ECS and ECR say about it, an image's provenance.

The AWS adapters (aws/) return these, never boto3 dicts; the engine and the pure decisions take them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import field
from datetime import datetime
from functools import cached_property
from typing import Any

from ecr_autodeploy.core.strategies import NATIVE_STRATEGIES
from ecr_autodeploy.core.values import frozen

# OCI/Docker media types of a multi-architecture image index; its digest is the one to deploy.
INDEX_MEDIA_TYPES = frozenset(
    {"application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"}
)
_ROLE_ACCOUNT_RE = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):role/")


@frozen
class ServiceRef:
    """Where one ECS service lives: region, cluster, name, and the role (another account) that reaches it."""

    region: str
    cluster: str
    service: str
    role_arn: str | None = None

    @cached_property
    def key(self) -> str:
        """Return ``region/cluster/service``, which identifies the service across rules."""
        return f"{self.region}/{self.cluster}/{self.service}"

    @cached_property
    def ledger_key(self) -> str:
        """Return the ledger key of the service (account-prefixed when reached through a role)."""
        account = _ROLE_ACCOUNT_RE.match(self.role_arn or "")
        return f"{account.group(1)}:{self.key}" if account else self.key

    @property
    def group(self) -> tuple[str, str | None, str]:
        """Return (region, role ARN, cluster): what one DescribeServices call can cover."""
        return (self.region, self.role_arn, self.cluster)


@frozen
class Provenance:
    """Which image, from where: the fields every outcome, record and message about an image carries."""

    repository: str | None = None
    tag: str | None = None
    digest: str | None = None
    account: str | None = None
    source_region: str | None = None
    source_account: str | None = None


@frozen
class RepositoryRef:
    """One ECR repository of the registry."""

    name: str
    arn: str
    registry_id: str


@frozen
class ImageInfo:
    """What ECR knows about one image."""

    repository: str
    registry_id: str
    digest: str
    tags: tuple[str, ...] = ()
    pushed_at: datetime | None = None
    media_type: str | None = None

    @property
    def is_index(self) -> bool:
        """Return True for a multi-architecture image index."""
        return self.media_type in INDEX_MEDIA_TYPES

    @property
    def is_single_platform(self) -> bool:
        """Return True when ECR reports a single-platform manifest (False when the media type is not known)."""
        return self.media_type is not None and self.media_type not in INDEX_MEDIA_TYPES


@frozen
class Deployment:
    """One entry of a service's ``deployments``."""

    id: str
    status: str
    task_definition: str
    rollout_state: str | None = None
    rollout_reason: str | None = None
    running: int = 0
    desired: int = 0
    pending: int = 0
    failed_tasks: int = 0
    updated_at: datetime | None = None
    created_at: datetime | None = None


@frozen
class Service:
    """One ECS service as DescribeServices reports it."""

    ref: ServiceRef
    arn: str
    task_definition_arn: str
    deployments: tuple[Deployment, ...] = ()
    desired_count: int = 0
    circuit_breaker: bool = False
    circuit_breaker_rollback: bool = False
    # ECS | CODE_DEPLOY | EXTERNAL: only ECS's own controller takes a new task definition through UpdateService.
    deployment_controller: str = "ECS"
    strategy: str = "ROLLING"  # deploymentConfiguration.strategy: ROLLING | BLUE_GREEN | LINEAR | CANARY
    deployment_configuration: Mapping[str, Any] = field(default_factory=dict, hash=False)
    current_service_deployment: str | None = None  # the ARN of the service deployment ECS runs now
    managed_by: str | None = None  # resourceManagementType: "ECS" for an Express service

    @property
    def primary(self) -> Deployment | None:
        """Return the PRIMARY (newest) deployment, if any."""
        return next((d for d in self.deployments if d.status == "PRIMARY"), None)

    @property
    def native(self) -> bool:
        """Return True when ECS shifts traffic itself (BLUE_GREEN, LINEAR, CANARY) and rolls back by stopping."""
        return self.strategy in NATIVE_STRATEGIES


@frozen
class LifecycleHook:
    """One lifecycle hook of a service deployment, as DescribeServiceDeployments reports it."""

    hook_id: str
    target_type: str  # AWS_LAMBDA | PAUSE
    status: str  # AWAITING_ACTION | IN_PROGRESS | SUCCEEDED | FAILED | TIMED_OUT
    expires_at: datetime | None = None
    timeout_action: str | None = None  # ROLLBACK | CONTINUE

    @property
    def paused(self) -> bool:
        """Return True for a PAUSE hook waiting for ContinueServiceDeployment."""
        return self.target_type == "PAUSE" and self.status == "AWAITING_ACTION"


@frozen
class ServiceDeployment:
    """One service deployment (the Service Deployments API): ECS's own account of a deployment and its stage."""

    arn: str
    status: str  # PENDING | IN_PROGRESS | SUCCESSFUL | STOPPED | STOP_REQUESTED | ROLLBACK_* (see core.rollout)
    stage: str | None = None  # lifecycleStage: SCALE_UP, TEST_TRAFFIC_SHIFT, PRODUCTION_TRAFFIC_SHIFT, BAKE_TIME ...
    reason: str = ""  # statusReason
    target_revision: str | None = None  # the service revision it deploys
    running: int = 0
    requested: int = 0
    pending: int = 0
    test_traffic: float | None = None  # percent of test traffic on the target revision
    production_traffic: float | None = None  # percent of production traffic on the target revision
    configuration: Mapping[str, Any] = field(default_factory=dict, hash=False)  # its deploymentConfiguration
    rollback_reason: str | None = None
    rollback_revision: str | None = None
    alarms: tuple[str, ...] = ()
    triggered_alarms: tuple[str, ...] = ()
    breaker_failures: int = 0
    breaker_threshold: int = 0
    hooks: tuple[LifecycleHook, ...] = ()
    created_at: datetime | None = None
    finished_at: datetime | None = None

    @property
    def strategy(self) -> str:
        """Return the strategy this deployment runs with (ROLLING when ECS names none)."""
        return str(self.configuration.get("strategy") or "ROLLING")

    @property
    def paused_hook(self) -> LifecycleHook | None:
        """Return the PAUSE hook the deployment waits at, if any."""
        return next((h for h in self.hooks if h.paused), None)

    @property
    def revision_id(self) -> str:
        """Return the last part of the target service revision's ARN ("" when unknown)."""
        return (self.target_revision or "").rsplit("/", 1)[-1]


@frozen
class TaskDefinition:
    """One task-definition revision (it never changes once registered) and its tags (which can)."""

    arn: str
    body: Mapping[str, Any] = field(default_factory=dict)
    tags: tuple[Mapping[str, str], ...] = ()

    @property
    def family(self) -> str:
        """Return the family, e.g. ``shop-api``."""
        return str(self.body.get("family", "?"))

    @property
    def containers(self) -> list[Mapping[str, Any]]:
        """Return the container definitions."""
        return list(self.body.get("containerDefinitions", []))

    def tag(self, key: str) -> str | None:
        """Return the value of one tag, or None."""
        return next((str(t.get("value")) for t in self.tags if t.get("key") == key), None)


@frozen
class Snapshot:
    """A service as read now, with the revision it runs."""

    service: Service
    task_definition: TaskDefinition
