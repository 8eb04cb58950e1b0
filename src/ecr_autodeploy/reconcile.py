"""Reconcile: deploy the newest image the rules allow to every mapped service that does not run it.

ECR events are best effort, so the function also runs this on a schedule (every 15 minutes by default). The
drift is deployed by the same Deployer as events (lock, claim, pin, record), so a digest already deployed to a
service in the claim window (7 days) is not deployed again: a rollout that failed is reported as drift, not
retried every 15 minutes. With the ledger it also judges open deployments whose ECS events were lost, and
times out rollouts that never finish (rolling back when the rule says so).

The deploy step gets what the survey has just read: the task definitions described in this run and the image
listings. Under its lock the engine still describes every service afresh, so it decides on the revision a
service runs *now*; only the content of a revision, which never changes, and the images are not read twice.
"""

from __future__ import annotations

import copy
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from ecr_autodeploy.core.drift import allowed_tag
from ecr_autodeploy.core.errors import AwsError, DeployError, NotFoundError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.notify import Message, service_console_url
from ecr_autodeploy.core.planning import Deployment, ImageInfo
from ecr_autodeploy.core.records import DeploymentRecord
from ecr_autodeploy.deploy import ClusterPort, Deployer, LedgerPort, RegistryPort, event_message
from ecr_autodeploy.outcomes import Outcome, Result, Status, log_decision
from ecr_autodeploy.survey import (
    ListingKey,
    RevisionKey,
    ServiceStatus,
    Survey,
    SurveyResult,
    TaskDefinition,
    open_deployments,
)
from ecr_autodeploy.track import Tracker

logger = logging.getLogger("ecr_autodeploy")


@runtime_checkable
class BatchRecords(Protocol):
    """A ledger that reads many deployment records at once (aws.ledger.Ledger is one)."""

    def deployments(self, ids: Iterable[str]) -> dict[str, DeploymentRecord]:
        """Return the records of these deployments (missing ones left out)."""
        ...


class Reconciler:
    """Survey, then deploy (or list) the drift, and judge lost rollouts."""

    def __init__(
        self,
        deployer: Deployer,
        survey: Survey,
        tracker: Tracker,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.deployer = deployer
        self.survey = survey
        self.tracker = tracker
        self._clock = clock

    def run(self, region: str, *, dry_run: bool = False) -> Result:
        """Return one outcome per mapped (service, repository); raise DeployError when a target failed."""
        run_id = f"reconcile-{uuid.uuid4()}"
        surveyed = self.survey.run(region)
        outcomes: list[Outcome] = []
        if not dry_run:
            outcomes.extend(self._sweep(surveyed))
        groups: dict[tuple[str, str, str, str | None], list[ServiceStatus]] = {}
        for row in surveyed.rows:
            if row.drift.state == "yes" and row.newest is not None:
                tag = allowed_tag(row.target.tags, row.newest)
                groups.setdefault((row.repository.name, row.repository.registry_id, row.newest.digest, tag), []).append(
                    row
                )
            else:
                outcomes.append(_row_outcome(row))
        messages = [m for rows in groups.values() for row in rows if (m := self._drift_message(row, dry_run))]
        deployer = self._deployer(surveyed) if groups and not dry_run else self.deployer
        for (name, registry_id, digest, tag), rows in groups.items():
            if dry_run:
                outcomes.extend(_row_outcome(row, "drift") for row in rows)
                continue
            event = _event(run_id, region, rows[0], name, registry_id, tag, digest)
            deployed = deployer.apply_targets(event, [r.target for r in rows])
            outcomes.extend(deployed)
            now = self._clock()
            messages.extend(m for o in deployed if (m := event_message(o, event, now)) is not None)
        notes = surveyed.notes + (() if dry_run else self.deployer.notes)
        result = Result(run_id, "reconcile", None, None, None, tuple(outcomes), notes)
        for outcome in result.outcomes:
            log_decision(outcome, run_id)
        for note in notes:
            logger.warning(json.dumps({"event_id": run_id, "note": note}))
        self.deployer.send(messages)
        if result.failed:
            names = ", ".join(f"{o.target} ({o.error_code})" for o in result.failed)
            raise DeployError(
                f"reconcile: {len(result.failed)} of {len(result.outcomes)} services failed: {names}",
                [o.to_dict() for o in result.outcomes],
            )
        return result

    def _deployer(self, surveyed: SurveyResult) -> Deployer:
        """Return the deployer reading the task definitions and images this survey has just read from it."""
        deployer = copy.copy(self.deployer)  # the same engine and settings; only two read adapters differ
        deployer.cluster = _SurveyedCluster(self.deployer.cluster, surveyed.task_definitions)
        deployer.registry = _SurveyedRegistry(self.deployer.registry, surveyed.images)
        return deployer

    def _sweep(self, surveyed: SurveyResult) -> list[Outcome]:
        ledger = self.deployer.ledger
        if ledger is None:
            return []
        wanted = open_deployments(surveyed.rows)
        if not wanted:
            return []
        records = _records(ledger, [deployment_id for deployment_id, _ in wanted])
        pending = [
            (record, state)
            for deployment_id, state in wanted
            if (record := records.get(deployment_id)) is not None and record.open
        ]
        return self.tracker.sweep(pending)

    def _drift_message(self, row: ServiceStatus, dry_run: bool) -> Message | None:
        assert row.newest is not None  # only drifted rows come here
        ledger = self.deployer.ledger
        if ledger is not None and not dry_run:
            try:
                if not ledger.first_notice(row.key, row.newest.digest, self._clock()):
                    return None
            except AwsError as err:
                logger.error(json.dumps({"service": row.target.key, "drift notice": "failed", "error": str(err)}))
        t = row.target
        return Message(
            "drift",
            "drift found" if dry_run else "drift found, deploying",
            row.drift.reason,
            repository=row.repository.name,
            tag=allowed_tag(t.tags, row.newest),
            digest=row.newest.digest,
            region=t.region,
            account=row.repository.registry_id,
            cluster=t.cluster,
            service=t.service,
            task_definition=row.state.task_definition_arn if row.state else None,
            console_url=service_console_url(t.region, t.cluster, t.service),
        )


def _records(ledger: LedgerPort, ids: Sequence[str]) -> dict[str, DeploymentRecord]:
    """Return the deployment records that could be read (a failed read is logged; the next run sweeps again)."""
    if isinstance(ledger, BatchRecords):
        try:
            return ledger.deployments(ids)
        except AwsError as err:
            logger.error(json.dumps({"deployments": len(ids), "sweep": "read failed", "error": str(err)}))
            return {}
    found = {}
    for deployment_id in ids:
        try:
            record = ledger.deployment(deployment_id)
        except AwsError as err:
            logger.error(json.dumps({"deployment_id": deployment_id, "sweep": "read failed", "error": str(err)}))
            continue
        if record is not None:
            found[deployment_id] = record
    return found


class _SurveyedCluster:
    """The deployer's ECS adapter, answering DescribeTaskDefinition with what the survey described in this run."""

    def __init__(self, cluster: ClusterPort, known: Mapping[RevisionKey, TaskDefinition]) -> None:
        self._cluster = cluster
        self._known = known

    def services(
        self, region: str, role_arn: str | None, cluster: str, names: Sequence[str]
    ) -> Mapping[str, Mapping[str, Any] | NotFoundError]:
        """Return each service's description, read afresh (the revision a service runs can change any time)."""
        return self._cluster.services(region, role_arn, cluster, names)

    def task_definition(self, region: str, role_arn: str | None, arn: str) -> tuple[dict[str, Any], list[Any]]:
        """Return (task definition, tags): the survey's when it described this revision, else read now."""
        found = self._known.get((region, role_arn, arn))
        if found is None:
            return self._cluster.task_definition(region, role_arn, arn)
        return dict(found[0]), list(found[1])

    def register(self, region: str, role_arn: str | None, params: Mapping[str, Any]) -> str:
        """Register a revision; return its ARN."""
        return self._cluster.register(region, role_arn, params)

    def update(
        self,
        region: str,
        role_arn: str | None,
        cluster: str,
        service: str,
        *,
        task_definition: str | None = None,
        force: bool = False,
    ) -> Deployment | None:
        """Start a deployment; return the new PRIMARY deployment."""
        return self._cluster.update(region, role_arn, cluster, service, task_definition=task_definition, force=force)


class _SurveyedRegistry:
    """The deployer's ECR adapter, finding images by digest in the survey's listing of their repository."""

    def __init__(self, registry: RegistryPort, listings: Mapping[ListingKey, Sequence[ImageInfo]]) -> None:
        self._registry = registry
        self._listings = listings

    def images(self, region: str, registry_id: str, repository: str, digests: Sequence[str]) -> dict[str, ImageInfo]:
        """Return the images with these digests: from the listing when it has them all, else read now."""
        listed = {i.digest: i for i in self._listings.get((region, registry_id, repository), ())}
        if any(d not in listed for d in digests):
            # An image pushed and deployed since the listing: its push time keeps an older one from replacing it.
            return self._registry.images(region, registry_id, repository, digests)
        return {d: listed[d] for d in digests}

    def by_tag(self, region: str, registry_id: str, repository: str, tag: str) -> ImageInfo:
        """Return the image a tag points at now (read now: tags move)."""
        return self._registry.by_tag(region, registry_id, repository, tag)

    def newest(
        self, region: str, registry_id: str, repository: str, allowed: Callable[[ImageInfo], bool]
    ) -> ImageInfo | None:
        """Return the newest image by push time that `allowed` accepts (read now)."""
        return self._registry.newest(region, registry_id, repository, allowed)


def _event(
    run_id: str, region: str, row: ServiceStatus, name: str, registry_id: str, tag: str | None, digest: str
) -> ImageEvent:
    return ImageEvent(
        "reconcile",
        run_id,
        datetime.now(UTC).isoformat(timespec="seconds"),
        registry_id,
        region,
        name,
        row.repository.arn,
        tag,
        digest,
    )


def _row_outcome(row: ServiceStatus, status: Status | None = None) -> Outcome:
    t = row.target
    by_drift: dict[str, Status] = {"no": "unchanged", "error": "failed"}
    chosen: Status = status or by_drift.get(row.drift.state, "skipped")
    return Outcome(
        chosen,
        row.drift.reason,
        target=t.key,
        cluster=t.cluster,
        service=t.service,
        region=t.region,
        rule=t.rule,
        strategy=t.strategy,
        repository=row.repository.name,
        tag=allowed_tag(t.tags, row.newest) if row.newest else None,
        digest=row.newest.digest if row.newest else None,
        previous_task_definition=row.state.task_definition_arn if row.state else None,
        images=dict(row.drift.images),
        error_code=row.error_code or ("TargetError" if row.drift.state == "error" else None),
    )
