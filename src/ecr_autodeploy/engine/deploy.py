"""Deploy: an image event becomes targets, gathered state, plans and applied outcomes (Lambda and CLI share it).

The story: parse the event; map the repository to targets (core.mapping); refuse tags the rules do not allow
(core.planning.tag_refusal); gather every service, its revision and the images in batched calls (gather); plan
each target (core.planning, pure); hand the plans to the executor (or the dry-run executor); report.

With a ledger each service is locked for the gather -> register -> update section, in rounds (a busy service
waits for the next round; no round holds one lock while waiting for another, so fan-outs in any order cannot
deadlock), and (service, digest) is claimed once, so duplicate deliveries give exactly one deployment.
docs/safety.md tells the whole story.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.drift import newest_for
from ecr_autodeploy.core.errors import AutodeployError, AwsError
from ecr_autodeploy.core.events import Ignored, ImageEvent, ReplicationFailure, parse_event
from ecr_autodeploy.core.image_refs import running_digests
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.messages import alert_message, started_message
from ecr_autodeploy.core.model import ImageInfo, Snapshot
from ecr_autodeploy.core.outcomes import Outcome, Result, failed_outcome, target_outcome
from ecr_autodeploy.core.planning import Plan, force_order, plan_target, tag_refusal
from ecr_autodeploy.core.timefmt import iso
from ecr_autodeploy.engine.executor import Applied, PlanRunner
from ecr_autodeploy.engine.gather import Gather, Reads
from ecr_autodeploy.engine.locks import ServiceLocks
from ecr_autodeploy.engine.ports import LedgerPort
from ecr_autodeploy.engine.report import Reporter

LEDGER_OFF_NOTE = (
    "ledger off (AUTODEPLOY_LEDGER_TABLE is not set): duplicate deliveries are not claimed once and deploys to "
    "one service are not serialised"
)
Choice = ImageInfo | str  # the image a target gets, or why it gets none


class Deployer:
    """Turn image events into deployments; the same object serves the Lambda handler and the CLI."""

    def __init__(
        self,
        config: Config,
        gather: Gather,
        runner: PlanRunner,
        reporter: Reporter,
        *,
        ledger: LedgerPort | None = None,
        locks: ServiceLocks | None = None,
    ) -> None:
        self.config = config
        self.gather = gather
        self.runner = runner
        self.reporter = reporter
        self.ledger = ledger
        self.locks = locks

    @property
    def notes(self) -> tuple[str, ...]:
        """Return what a person should know about how deploys run (the ledger being off)."""
        return (LEDGER_OFF_NOTE,) if self.ledger is None and not self.reporter.dry_run else ()

    # ---- entry points: each one reports (logs, notifies, raises DeployError) unless it says otherwise ---------

    def handle(self, raw: object) -> Result:
        """Return every outcome of one ECR event, reported; raise EventError (malformed) or DeployError."""
        event = parse_event(raw)
        if isinstance(event, Ignored):
            outcome = Outcome("ignored", event.reason)
            return self.reporter.finish(Result(event.event_id, event.detail_type, None, None, None, (outcome,)), "")
        if isinstance(event, ReplicationFailure):
            return self._alert(event)
        return self.deploy(event)

    def deploy(self, event: ImageEvent, targets: Sequence[Target] | None = None) -> Result:
        """Deploy an image to the services its rules map (or to `targets`, a manual deploy), reported."""
        outcomes: list[Outcome] = []
        if targets is None:
            targets, skips = map_repository(self.config, event.repository, event.repository_arn, event.region)
            outcomes = [
                Outcome(
                    "skipped", s.reason, rule=s.rule, repository=event.repository, tag=event.tag, digest=event.digest
                )
                for s in skips
            ]
        outcomes.extend(self.decide_and_apply(event, targets))
        result = Result(
            event.event_id, event.kind, event.repository, event.tag, event.digest, tuple(outcomes), self.notes
        )
        now = self.reporter.clock()
        messages = [m for o in result.outcomes if (m := started_message(o, event, now)) is not None]
        return self.reporter.finish(result, event.repository, messages=messages)

    def decide_and_apply(
        self, event: ImageEvent, targets: Sequence[Target], reads: Reads | None = None
    ) -> list[Outcome]:
        """Return the outcome per target, in order; this one neither logs, notifies nor raises (callers report).

        `reads` is what the caller's run has read already (reconcile's survey); an event starts with nothing.
        """
        reads = reads if reads is not None else Reads()
        unique = list({t.key: t for t in targets}.values())
        done: dict[str, Outcome] = {}
        live = []
        for t in unique:
            refused = tag_refusal(t, event)
            if refused is None:
                live.append(t)
            else:
                done[t.key] = target_outcome(t, event, "skipped", refused)  # a refused tag needs no lock
        if self.locks is None:
            items = self._decide(event, live, reads, {})
            done.update((t.key, a.outcome) for t, a in zip(live, self.runner.run(items, event, None), strict=True))
        else:
            done.update(self._serialised(event, live, reads, self.locks))
        return [done[t.key] for t in targets if t.key in done]

    # ---- decide -----------------------------------------------------------------------------------------------

    def _decide(
        self, event: ImageEvent, targets: Sequence[Target], reads: Reads, last: Mapping[str, str]
    ) -> list[Plan | Outcome]:
        """Return a Plan for every target that reached planning, or the Outcome that ended it earlier.

        `last` maps target keys to the digest last deployed there by a force deploy (from the ledger): a force
        task definition names a tag, so this is the only way to see that an arriving image is older.
        """
        snapshots = self.gather.snapshots([t.ref for t in targets], reads)
        live = {t.key: s for t in targets if isinstance(s := snapshots[t.ref], Snapshot)}
        chosen, known = self._images(event, targets, live, reads, list(last.values()))
        result: list[Plan | Outcome] = []
        for t in targets:
            snapshot = snapshots[t.ref]
            if isinstance(snapshot, AwsError):
                result.append(failed_outcome(t, event, snapshot))
                continue
            image = chosen[t.key]
            if isinstance(image, str):
                result.append(target_outcome(t, event, "skipped", image))
                continue
            try:
                planned = plan_target(
                    t, snapshot, image, event.registry, event_id=event.event_id, running=known, event_tag=event.tag
                )
                result.append(force_order(planned, last.get(t.key), image, known))
            except AutodeployError as err:
                result.append(failed_outcome(t, event, err))
        return result

    def _images(
        self,
        event: ImageEvent,
        targets: Sequence[Target],
        live: Mapping[str, Snapshot],
        reads: Reads,
        also: Sequence[str],
    ) -> tuple[dict[str, Choice], dict[str, ImageInfo]]:
        """Return the image each live target gets (or why none), and what ECR knows of the images they run.

        The arrived image and the images the services run now are read in one DescribeImages call. CloudTrail
        routes carry no tag or digest: each target gets the newest image its tag policy allows.
        """
        if not live:
            return {}, {}
        key = (event.region, event.account, event.repository)
        running = list(dict.fromkeys([*running_digests(s.task_definition.body for s in live.values()), *also]))
        if event.digest is None and event.tag is None:
            listing = self.gather.listings([key], reads)[key]
            if isinstance(listing, AwsError):
                raise listing
            picks: dict[str, Choice] = {}
            for t in targets:
                snapshot = live.get(t.key)
                best = newest_for(t, event.repository, snapshot.task_definition, listing) if snapshot else None
                picks[t.key] = best or f"no image in {event.repository} is allowed by {t.tags.describe()}"
            return picks, {i.digest: i for i in listing}
        if event.digest is not None:
            known = self.gather.images(key, [event.digest, *running], reads)
            image = known[event.digest]
        else:
            assert event.tag is not None  # one of the two is set here
            image = self.gather.registry.by_tag(*key, event.tag)
            others = [d for d in running if d != image.digest]
            known = self.gather.images(key, [image.digest, *others], reads) if others else {image.digest: image}
        return dict.fromkeys((t.key for t in targets), image), known

    # ---- serialise per service ----------------------------------------------------------------------------------

    def _serialised(
        self, event: ImageEvent, targets: Sequence[Target], reads: Reads, locks: ServiceLocks
    ) -> dict[str, Outcome]:
        """Lock, decide, apply and unlock in rounds; a service still busy after the wait fails (Lambda retries)."""
        owner = uuid.uuid4().hex
        by_key = {t.ref.ledger_key: t for t in targets}
        done: dict[str, Outcome] = {}
        pending = list(targets)
        for _ in locks.attempts():
            taken = locks.take([t.ref.ledger_key for t in pending], owner)
            for key, err in taken.failed.items():
                done[by_key[key].key] = failed_outcome(by_key[key], event, err)
            held = [by_key[k] for k in taken.held]
            released: set[str] = set()
            try:
                for t, applied in zip(held, self._apply_held(event, held, reads, owner), strict=True):
                    done[t.key] = applied.outcome
                    if applied.released:
                        released.add(t.ref.ledger_key)
            finally:
                locks.release([k for k in taken.held if k not in released], owner)
            pending = [by_key[k] for k in taken.busy]
            if not pending:
                break
        else:
            for t in pending:
                lock = taken.busy[t.ref.ledger_key]
                until = f" until {iso(lock.until)}" if lock.until else ""
                reason = f"service {t.key} is being deployed by another invocation{until}; retry later"
                done[t.key] = replace(target_outcome(t, event, "failed", reason), error_code="ServiceLocked")
        return done

    def _apply_held(self, event: ImageEvent, held: Sequence[Target], reads: Reads, owner: str) -> list[Applied]:
        """Decide and apply the locked targets; force targets also get the digest last deployed there."""
        if not held:
            return []
        assert self.ledger is not None  # locks come with a ledger
        forced = [t for t in held if t.strategy == "force"]
        last: dict[str, str] = {}
        failed: dict[str, Outcome] = {}
        if forced:
            try:
                items = self.ledger.services([t.ref.ledger_key for t in forced])
            except AwsError as err:
                failed = {t.key: failed_outcome(t, event, err) for t in forced}
                items = {}
            for t in forced:
                item = items.get(t.ref.ledger_key)
                if item is not None and item.digest and item.repository == event.repository:
                    last[t.key] = item.digest
        live = [t for t in held if t.key not in failed]
        applied = iter(self.runner.run(self._decide(event, live, reads, last), event, owner) if live else [])
        return [Applied(failed[t.key]) if t.key in failed else next(applied) for t in held]

    # ---- alerts -------------------------------------------------------------------------------------------------

    def _alert(self, event: ReplicationFailure) -> Result:
        reason = (
            f"replication of {event.repository}:{event.tag or event.digest} from "
            f"{event.source_region or '?'}/{event.source_account or '?'} FAILED"
        )
        outcome = Outcome(
            "alert", reason, region=event.region, repository=event.repository, tag=event.tag, digest=event.digest
        )
        result = Result(event.event_id, "replicate", event.repository, event.tag, event.digest, (outcome,))
        return self.reporter.finish(result, event.repository, messages=[alert_message(event, reason)])
