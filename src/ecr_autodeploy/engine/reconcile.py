"""Reconcile: deploy the newest image the rules allow to every mapped service that does not run it.

ECR events are best effort, so the function also runs this on a schedule (every 15 minutes by default). The
drift is deployed by the same Deployer as events (lock, claim, pin, record), so a digest already deployed to a
service in the claim window (7 days) is not deployed again: a rollout that failed is reported as drift, not
retried every 15 minutes. With the ledger it also judges open deployments whose ECS events were lost, and
times out rollouts that never finish (rolling back when the rule says so).

The deploy step gets what the survey has just read (its `Reads`: the task definitions described in this run and
the image listings). Under its lock the engine still describes every service afresh, so it decides on the
revision a service runs *now*; only the content of a revision, which never changes, and the images are not read
twice.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.messages import drift_message, started_message
from ecr_autodeploy.core.notify import Message
from ecr_autodeploy.core.outcomes import Outcome, Result, Status
from ecr_autodeploy.core.records import DeploymentRecord
from ecr_autodeploy.engine.concurrency import concurrently
from ecr_autodeploy.engine.deploy import Deployer
from ecr_autodeploy.engine.survey import Survey, SurveyResult, SurveyRow, open_deployments
from ecr_autodeploy.engine.track import Tracker

logger = logging.getLogger("ecr_autodeploy")
DriftGroup = tuple[str, str, str, str | None]  # (repository, registry id, digest, tag): one deployment event


class Reconciler:
    """Survey, then deploy (or, in a dry run, list) the drift, and judge lost rollouts."""

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

    @property
    def dry_run(self) -> bool:
        """Return True when this reconciler only lists the drift."""
        return self.deployer.reporter.dry_run

    def run(self, region: str) -> Result:
        """Return one outcome per mapped (service, repository), reported; raise DeployError when a target failed.

        Approvals past their deadline are closed first (a note and a message each). A drift a gate holds
        (deferred, pending approval) is not notified as drift: its gate said why.
        """
        run_id = f"reconcile-{uuid.uuid4()}"
        gates = self.deployer.gates
        expired, messages = gates.expire() if gates is not None else ([], [])
        surveyed = self.survey.run(region)
        outcomes: list[Outcome] = [] if self.dry_run else self._sweep(surveyed)
        groups: dict[DriftGroup, list[SurveyRow]] = {}
        noticed: list[SurveyRow] = []
        for row in surveyed.rows:
            if row.drift.state == "yes" and row.newest is not None:
                tag = row.target.tags.first_allowed(row.newest.tags)
                key = (row.repository.name, row.repository.registry_id, row.newest.digest, tag)
                groups.setdefault(key, []).append(row)
            else:
                outcomes.append(row_outcome(row))
                if row.drift.state == "missing":
                    noticed.append(row)
        started: list[Message] = []
        kept = 0
        for (name, registry_id, digest, tag), rows in groups.items():
            event = drift_event(run_id, region, rows[0], name, registry_id, tag, digest)
            targets: list[Target] = [r.target for r in rows]
            handed: list[Outcome] = []
            fanout = self.deployer.fanout
            if fanout is not None and not self.dry_run:
                # One invocation deploys at most one batch in all; the rest goes to other invocations.
                targets, handed = fanout.split(event, targets, keep=fanout.size - kept)
            kept += len(targets)
            deployed = [*self.deployer.decide_and_apply(event, targets, surveyed.reads), *handed]
            held = {o.target for o in deployed if o.gate is not None}
            noticed.extend(row for row in rows if row.target.key not in held)
            if self.dry_run:
                # The same decision as the real run (a claimed digest is a duplicate); what it would deploy is drift.
                drift = {row.target.key: row_outcome(row, "drift") for row in rows}
                outcomes.extend(drift.get(o.target or "", o) if o.status == "planned" else o for o in deployed)
                continue
            outcomes.extend(deployed)
            now = self._clock()
            started.extend(m for o in deployed if (m := started_message(o, event, now)) is not None)
        # One conditional write per notice: all at once, not one after another.
        messages.extend(m for m in concurrently(self._drift_message, noticed) if m is not None)
        notes = (*expired, *surveyed.notes, *self.deployer.notes)
        result = Result(run_id, "reconcile", None, None, None, tuple(outcomes), notes)
        return self.deployer.reporter.finish(result, "reconcile", what="services", messages=[*messages, *started])

    def _sweep(self, surveyed: SurveyResult) -> list[Outcome]:
        ledger = self.deployer.ledger
        if ledger is None:
            return []
        wanted = open_deployments(surveyed.rows)
        if not wanted:
            return []
        try:
            records: dict[str, DeploymentRecord] = ledger.deployments([deployment_id for deployment_id, _ in wanted])
        except AwsError as err:
            # The next run sweeps again.
            logger.error(json.dumps({"deployments": len(wanted), "sweep": "read failed", "error": str(err)}))
            return []
        pending = [
            (record, service)
            for deployment_id, service in wanted
            if (record := records.get(deployment_id)) is not None and record.open
        ]
        return self.tracker.sweep(pending)

    def _drift_message(self, row: SurveyRow) -> Message | None:
        """Return the day's one message about a drifted (or missing) service, or None when it was sent today."""
        ledger = self.deployer.ledger
        subject = row.newest.digest if row.newest is not None else "missing"
        if ledger is not None and not self.dry_run:
            try:
                if not ledger.first_notice(row.key, subject, self._clock()):
                    return None
            except AwsError as err:
                logger.error(json.dumps({"service": row.target.key, "drift notice": "failed", "error": str(err)}))
        task_definition = row.service.task_definition_arn if row.service else None
        status: Status = "missing" if row.drift.state == "missing" else "drift"
        return drift_message(row_outcome(row, status), row.repository.registry_id, task_definition, self.dry_run)


def drift_event(
    run_id: str, region: str, row: SurveyRow, name: str, registry_id: str, tag: str | None, digest: str
) -> ImageEvent:
    """Return the image event that deploys a drift: the newest allowed image of a row's repository."""
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


def row_outcome(row: SurveyRow, status: Status | None = None) -> Outcome:
    """Return the outcome of a surveyed row (unchanged, skipped, failed, or the status given)."""
    t = row.target
    by_drift: dict[str, Status] = {"no": "unchanged", "error": "failed", "missing": "missing"}
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
        tag=t.tags.first_allowed(row.newest.tags) if row.newest else None,
        digest=row.newest.digest if row.newest else None,
        previous_task_definition=row.service.task_definition_arn if row.service else None,
        images=dict(row.drift.images),
        error_code=row.error_code or ("TargetError" if row.drift.state == "error" else None),
    )
