"""Reconcile: deploy the newest image the rules allow to every mapped service that does not run it.

ECR events are best effort, so the function also runs this on a schedule (every 15 minutes by default). The
drift is deployed by the same Deployer as events (lock, claim, pin, record), so a digest already deployed to a
service in the claim window (7 days) is not deployed again: a rollout that failed is reported as drift, not
retried every 15 minutes. With the ledger it also judges open deployments whose ECS events were lost, and
times out rollouts that never finish (rolling back when the rule says so).
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from ecr_autodeploy.core.drift import allowed_tag
from ecr_autodeploy.core.errors import AwsError, DeployError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.notify import Message, service_console_url
from ecr_autodeploy.deploy import Deployer, event_message
from ecr_autodeploy.outcomes import Outcome, Result, Status, log_decision
from ecr_autodeploy.survey import ServiceStatus, Survey, SurveyResult, open_deployments
from ecr_autodeploy.track import Tracker

logger = logging.getLogger("ecr_autodeploy")


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
        for (name, registry_id, digest, tag), rows in groups.items():
            if dry_run:
                outcomes.extend(_row_outcome(row, "drift") for row in rows)
                continue
            event = _event(run_id, region, rows[0], name, registry_id, tag, digest)
            deployed = self.deployer.apply_targets(event, [r.target for r in rows])
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

    def _sweep(self, surveyed: SurveyResult) -> list[Outcome]:
        ledger = self.deployer.ledger
        if ledger is None:
            return []
        pending = []
        for deployment_id, state in open_deployments(surveyed.rows):
            try:
                record = ledger.deployment(deployment_id)
            except AwsError as err:
                logger.error(json.dumps({"deployment_id": deployment_id, "sweep": "read failed", "error": str(err)}))
                continue
            if record is not None and record.open:
                pending.append((record, state))
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
