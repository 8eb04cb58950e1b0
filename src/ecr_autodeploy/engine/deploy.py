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

import functools
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.drift import Listing, newest_for
from ecr_autodeploy.core.errors import AutodeployError, AwsError
from ecr_autodeploy.core.events import Ignored, ImageEvent, ReplicationFailure, parse_event
from ecr_autodeploy.core.image_refs import running_digests
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.messages import alert_message, started_message
from ecr_autodeploy.core.model import ImageInfo, Service, ServiceRef, Snapshot
from ecr_autodeploy.core.outcomes import Outcome, Result, failed_outcome, ignored_result, target_outcome
from ecr_autodeploy.core.planning import Plan, force_order, plan_target, tag_refusal
from ecr_autodeploy.core.records import ServiceItem
from ecr_autodeploy.core.timefmt import iso
from ecr_autodeploy.engine.concurrency import together
from ecr_autodeploy.engine.executor import Applied, Claims, PlanRunner
from ecr_autodeploy.engine.gather import Gather, Reads
from ecr_autodeploy.engine.locks import ServiceLocks
from ecr_autodeploy.engine.ports import LedgerPort
from ecr_autodeploy.engine.report import Reporter

if TYPE_CHECKING:
    from ecr_autodeploy.core.fanout import Batch
    from ecr_autodeploy.engine.fanout import FanOut
    from ecr_autodeploy.engine.gates import GateKeeper

LEDGER_OFF_NOTE = (
    "ledger off (AUTODEPLOY_LEDGER_TABLE is not set): duplicate deliveries are not claimed once and deploys to "
    "one service are not serialised"
)
Choice = ImageInfo | str  # the image a target gets, or why it gets none
# Clocks of two invocations differ by far less than this: a deployment recorded as started this close to our read
# of the service may not be in what we read.
STALE_MARGIN_SECONDS = 5.0


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
        fanout: FanOut | None = None,
        gates: GateKeeper | None = None,
    ) -> None:
        self.config = config
        self.gather = gather
        self.runner = runner
        self.reporter = reporter
        self.ledger = ledger
        self.locks = locks
        self.fanout = fanout
        self.gates = gates

    @property
    def notes(self) -> tuple[str, ...]:
        """Return what a person should know about how deploys run (the ledger being off)."""
        return (LEDGER_OFF_NOTE,) if self.ledger is None and not self.reporter.dry_run else ()

    # ---- entry points: each one reports (logs, notifies, raises DeployError) unless it says otherwise ---------

    def handle(self, raw: object) -> Result:
        """Return every outcome of one ECR event, reported; raise EventError (malformed) or DeployError."""
        return self.handle_parsed(parse_event(raw))

    def handle_parsed(self, event: ImageEvent | ReplicationFailure | Ignored) -> Result:
        """Return every outcome of one parsed ECR event, reported; raise DeployError."""
        if isinstance(event, Ignored):
            return self.reporter.finish(ignored_result(event.event_id, event.detail_type, event.reason), "")
        if isinstance(event, ReplicationFailure):
            return self._alert(event)
        return self.deploy(event)

    def deploy(self, event: ImageEvent, targets: Sequence[Target] | None = None) -> Result:
        """Deploy an image to the services its rules map (or to `targets`, a manual deploy), reported.

        A fan-out larger than one invocation's batch keeps the first batch and hands the others on (FanOut).
        """
        outcomes: list[Outcome] = []
        handed: list[Outcome] = []
        if targets is None:
            targets, skips = map_repository(self.config, event.repository, event.repository_arn, event.region)
            outcomes = [
                Outcome(
                    "skipped", s.reason, rule=s.rule, repository=event.repository, tag=event.tag, digest=event.digest
                )
                for s in skips
            ]
            if self.fanout is not None and not self.reporter.dry_run:
                targets, handed = self.fanout.split(event, targets)
        outcomes.extend(self.decide_and_apply(event, targets))
        return self._finish(event, [*outcomes, *handed])

    def deploy_batch(self, batch: Batch) -> Result:
        """Deploy the share of a fan-out a batch event names (never split again), reported."""
        from ecr_autodeploy.engine.fanout import batch_targets

        event = batch.event
        mapped, _ = map_repository(self.config, event.repository, event.repository_arn, event.region)
        targets, unmapped = batch_targets(batch, mapped)
        return self._finish(event, [*self.decide_and_apply(event, targets), *unmapped], batch.event_id)

    def _finish(self, event: ImageEvent, outcomes: Sequence[Outcome], result_id: str | None = None) -> Result:
        result = Result(
            result_id or event.event_id,
            event.kind,
            event.repository,
            event.tag,
            event.digest,
            tuple(outcomes),
            self.notes,
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
            live = self._unpaused(event, live, reads, done, self._read_pauses(reads))
            remembered = self.gather.remembered
            # Without a ledger a retried force event must not deploy again: this function remembers what it forced.
            last = {t.key: d for t in live if t.strategy == "force" and remembered and (d := remembered.forced(t.ref))}
            items, _ = self._decide(event, live, reads, last)
            applied = self.runner.run(items, event, None)
            done.update((t.key, self._forced(t, a.outcome, event)) for t, a in zip(live, applied, strict=True))
        else:
            done.update(self._serialised(event, live, reads, self.locks))
        return [done[t.key] for t in targets if t.key in done]

    def _read_pauses(self, reads: Reads) -> AwsError | None:
        """Read the installation's pauses into `reads` once per run (one GetItem); return the error, if any."""
        if self.gates is None or reads.pauses is not None:
            return None
        try:
            reads.pauses = self.gates.pauses()
        except AwsError as err:
            return err
        return None

    def _unpaused(
        self, event: ImageEvent, targets: Sequence[Target], reads: Reads, done: dict[str, Outcome], err: AwsError | None
    ) -> list[Target]:
        """Return the targets no pause covers; a paused one is skipped (and decided no further)."""
        if err is not None:
            # A freeze that cannot be read is not a freeze lifted: fail, and Lambda retries the event.
            done.update((t.key, failed_outcome(t, event, err)) for t in targets)
            return []
        if reads.pauses is None or not targets:
            return list(targets)
        live = []
        for t in targets:
            pause = reads.pauses.of(t)
            if pause is None:
                live.append(t)
            else:
                done[t.key] = replace(target_outcome(t, event, "skipped", pause.skip_reason()), gate="pause")
        return live

    # ---- decide -----------------------------------------------------------------------------------------------

    def _decide(
        self,
        event: ImageEvent,
        targets: Sequence[Target],
        reads: Reads,
        last: Mapping[str, str],
        owner: str | None = None,
        described: Mapping[ServiceRef, Service | AwsError] | None = None,
    ) -> tuple[list[Plan | Outcome], Claims]:
        """Return a Plan for every target that reached planning (or the Outcome that ended it), and the claims made.

        `last` maps target keys to the digest last deployed there by a force deploy (from the ledger): a force
        task definition names a tag, so this is the only way to see that an arriving image is older. With an
        `owner` (the lock holder), (service, digest) is claimed for every service not already running the digest,
        at the same time as the images are read: one round trip for both.
        """
        snapshots = self._snapshots(targets, reads, described, remembering=owner is None)
        live = {t.key: s for t in targets if isinstance(s := snapshots[t.ref], Snapshot)}
        ahead = [
            (t.ref, event.digest)
            for t in targets
            if owner is not None
            and event.digest is not None
            and t.key in live
            and event.digest not in running_digests([live[t.key].task_definition.body])
        ]
        (chosen, known), claims = together(
            lambda: self._images(event, targets, live, reads, list(last.values())),
            lambda: self.runner.claim(ahead, event, owner) if ahead and owner is not None else {},
        )
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
        if self.gates is not None:
            images = {key: image for key, image in chosen.items() if isinstance(image, ImageInfo)}
            result = self.gates.hold(event, result, claims, images)
        return result, claims

    def _snapshots(
        self,
        targets: Sequence[Target],
        reads: Reads,
        described: Mapping[ServiceRef, Service | AwsError] | None,
        remembering: bool,
    ) -> dict[ServiceRef, Snapshot | AwsError]:
        """Return each service with its revision; a force target without a ledger as this function last saw it.

        A force deploy changes no revision, so the revision a warm function saw is enough to judge it; the
        UpdateService answer says whether the service had moved on since (see _forced).
        """
        remembered = self.gather.remembered if remembering else None
        found: dict[ServiceRef, Snapshot | AwsError] = {}
        if remembered is not None:
            for t in targets:
                if t.strategy == "force" and (snapshot := remembered.snapshot(t.ref)) is not None:
                    found[t.ref] = snapshot
        rest = [t.ref for t in targets if t.ref not in found]
        found.update(self.gather.snapshots(rest, reads, described) if rest else {})
        return found

    def _forced(self, target: Target, outcome: Outcome, event: ImageEvent) -> Outcome:
        """Return a force outcome checked against what UpdateService says the service runs; remember it."""
        remembered = self.gather.remembered
        if remembered is None or target.strategy != "force" or outcome.status != "deployed":
            return outcome
        ran = outcome.task_definition
        if ran and outcome.previous_task_definition and ran != outcome.previous_task_definition:
            # The service had moved to another revision since this function last saw it: ECS re-pulled what that
            # revision names, which may not be this image. Say so rather than claim the digest.
            remembered.moved(target.ref, ran)
            reason = (
                f"forced a new deployment, but the service runs {ran.rsplit('/', 1)[-1]} now, not "
                f"{outcome.previous_task_definition.rsplit('/', 1)[-1]}: it re-pulls what that revision names"
            )
            return replace(outcome, reason=reason, digest=None)
        if outcome.digest:
            remembered.forced(target.ref, outcome.digest)
        return outcome

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
            # One listing, of the tagged images only unless a rule deploys untagged ones, the largest page a call.
            listing = Listing(self.gather.registry.listing(*key, tagged=not any(t.tags.untagged for t in targets)))
            picks: dict[str, Choice] = {}
            for t in targets:
                snapshot = live.get(t.key)
                best = newest_for(t, event.repository, snapshot.task_definition, listing) if snapshot else None
                picks[t.key] = best or f"no image in {event.repository} is allowed by {t.tags.describe()}"
            return picks, dict(listing.by_digest)
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
            read_at = locks.now()
            # The services are described and the pauses read while the locks are taken: one round trip for all.
            keys, refs = [t.ref.ledger_key for t in pending], [t.ref for t in pending]
            lock_and_describe = functools.partial(
                together, functools.partial(locks.take, keys, owner), functools.partial(self.gather.services, refs)
            )
            (taken, described), unread = together(lock_and_describe, functools.partial(self._read_pauses, reads))
            for key, err in taken.failed.items():
                done[by_key[key].key] = failed_outcome(by_key[key], event, err)
            # A paused service is skipped, its lock given back untouched (the finally below).
            held = self._unpaused(event, [by_key[k] for k in taken.held], reads, done, unread)
            previous = {by_key[k].key: lock.previous for k, lock in taken.held.items()}
            # A deployment another invocation started while we read is not in that description: read it again.
            fresh = {t.ref: described[t.ref] for t in held if not _may_be_stale(previous[t.key], read_at)}
            released: set[str] = set()
            try:
                applied_all = self._apply_held(event, held, reads, owner, previous, fresh)
                for t, applied in zip(held, applied_all, strict=True):
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

    def _apply_held(
        self,
        event: ImageEvent,
        held: Sequence[Target],
        reads: Reads,
        owner: str,
        previous: Mapping[str, ServiceItem | None],
        described: Mapping[ServiceRef, Service | AwsError],
    ) -> list[Applied]:
        """Decide and apply the locked targets; a force target's last digest is in its item, read by its lock."""
        if not held:
            return []
        last = {
            t.key: item.digest
            for t in held
            if t.strategy == "force"
            and (item := previous.get(t.key)) is not None
            and item.digest
            and item.repository == event.repository
        }
        items, claims = self._decide(event, held, reads, last, owner, described)
        return self.runner.run(items, event, owner, claims, previous)

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


def _may_be_stale(previous: ServiceItem | None, read_at: float) -> bool:
    """Return True when the last deployment the lock found may have started after the description was read."""
    started = previous.started_at if previous is not None else None
    return started is not None and started >= read_at - STALE_MARGIN_SECONDS
