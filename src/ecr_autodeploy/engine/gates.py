"""The gate keeper: reads what the gates need, holds the plans they hold, requests approvals (core/gates.py decides).

Deploy asks it twice. Before anything is read: which targets a pause covers (one GetItem of the pause item per
run). After planning, for the targets whose plan would deploy and whose rule (or target) has a gate: the facts
at once, each one round trip (the upstream and wave services' ledger items in one BatchGetItem, the approvals
by id, DescribeAlarms per region), then each gate in order. A held plan is not applied; its claim is released.

An approval is requested once per (rule, image), under the locks of the services it covers: the request
supersedes the rule's open approvals of an image ranked below it (or of the same image under another id), and
is refused while one of an image ranked above it is open. Its notification carries the exact approve command.
A dry run reads the same facts and writes nothing.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.errors import AutodeployError, AwsError
from ecr_autodeploy.core.events import ImageEvent
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.model import ImageInfo
from ecr_autodeploy.core.outcomes import Hold, Outcome, failed_outcome
from ecr_autodeploy.core.planning import Plan
from ecr_autodeploy.core.records import Claim
from ecr_autodeploy.engine.concurrency import MAX_WORKERS, caught, concurrently
from ecr_autodeploy.engine.ports import AlarmPort, GateStorePort, LedgerPort
from ecr_autodeploy.engine.report import Reporter

if TYPE_CHECKING:
    from ecr_autodeploy.core.approvals import Approval
    from ecr_autodeploy.core.notify import Message
    from ecr_autodeploy.core.pauses import Pauses
    from ecr_autodeploy.core.records import ServiceItem

NO_LEDGER_APPROVAL = "approval: required needs the installation's ledger to record the request: not deployed"


@dataclass
class Facts:
    """What the gates of one decision read: services' ledger items, approvals, alarm states per region."""

    items: Mapping[str, ServiceItem] | AwsError = field(default_factory=dict)
    approvals: Mapping[str, Approval] | AwsError = field(default_factory=dict)
    alarms: dict[str, Mapping[str, str] | AwsError] = field(default_factory=dict)


class GateKeeper:
    """Judge the gates of the deploys an event (a reconcile, an approval) would make."""

    def __init__(
        self,
        config: Config,
        reporter: Reporter,
        *,
        store: GateStorePort | None = None,
        ledger: LedgerPort | None = None,
        alarms: AlarmPort | None = None,
        command: Callable[[str, str], str] | None = None,
        clock: Callable[[], float] = time.time,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        self.config = config
        self.reporter = reporter
        self.store = store
        self.ledger = ledger
        self.alarms = alarms
        # (verb, approval id) -> the command a person runs; install knows the name and region it needs.
        self.command = command or (lambda verb, approval: f"ecr-autodeploy {verb} {approval}")
        self._clock = clock
        self._max_workers = max_workers

    # ---- before reading anything: pauses ------------------------------------------------------------------

    def pauses(self) -> Pauses:
        """Return the installation's pauses (none without a ledger); raise AwsError."""
        from ecr_autodeploy.core.pauses import Pauses

        return self.store.pauses() if self.store is not None else Pauses()

    # ---- after planning -------------------------------------------------------------------------------------

    def hold(
        self,
        event: ImageEvent,
        items: Sequence[Plan | Outcome],
        claims: Mapping[str, Claim | AutodeployError],
        images: Mapping[str, ImageInfo],
        *,
        record: bool = True,
    ) -> list[Plan | Outcome]:
        """Return the items with every gated plan held (or failed, when a fact could not be read).

        `claims` are those made ahead (a lost claim is the executor's duplicate, not a gate's), `images` the image
        each target gets, by target key. Without `record` (``status``), as in a dry run, nothing is requested.
        """
        candidates = [
            i
            for i in items
            if isinstance(i, Plan) and i.changes and i.target.gated and i.digest and _open(claims.get(i.target.key))
        ]
        if not candidates:
            return list(items)
        from ecr_autodeploy.core.gates import REQUEST, alarm_hold, promotion_hold, window_hold

        now = self._clock()
        facts = self._facts(event, candidates)
        decided: dict[str, Hold | AwsError] = {}
        requests: dict[str, list[Plan]] = {}
        for plan in candidates:
            t, digest = plan.target, plan.digest or ""
            found: Hold | str | AwsError | None = None
            if t.after is not None:
                known = facts.items
                upstream = None if isinstance(known, AwsError) else known.get(t.after.ledger_key)
                found = known if isinstance(known, AwsError) else promotion_hold(t, digest, upstream, now)
            gates = t.gates
            if found is None and gates is not None and gates.approval:
                found = self._approval(event, plan, facts, now)
                if found == REQUEST:
                    requests.setdefault(self._approval_id(event, plan), []).append(plan)
                    continue
            if found is None and gates is not None and gates.windows:
                found = window_hold(gates, now)
            if found is None and gates is not None and gates.hold_if_alarm:
                states = facts.alarms.get(t.region, {})
                found = states if isinstance(states, AwsError) else alarm_hold(gates.hold_if_alarm, states, t.region)
            if isinstance(found, Hold | AwsError):
                decided[t.key] = found
        for wanted, plans in requests.items():
            decided.update(self._request(event, wanted, plans, images, now, record=record))
        decided.update(self._waves(event, [p for p in candidates if p.target.key not in decided], facts))
        return [_held(i, decided.get(i.target.key), event) if isinstance(i, Plan) else i for i in items]

    def _facts(self, event: ImageEvent, candidates: Sequence[Plan]) -> Facts:
        """Read what the candidates' gates need, every read at once."""
        keys = [p.target.after.ledger_key for p in candidates if p.target.after is not None]
        keys += [t.ref.ledger_key for rule in _wave_rules(candidates) for t in targets_of(self.config, event, rule)]
        wanted = [self._approval_id(event, p) for p in candidates if p.target.gates and p.target.gates.approval]
        regions: dict[str, list[str]] = {}
        for p in candidates:
            if p.target.gates and p.target.gates.hold_if_alarm:
                regions.setdefault(p.target.region, []).extend(p.target.gates.hold_if_alarm)
        facts = Facts()
        ledger, store, alarms = self.ledger, self.store, self.alarms
        reads: list[Callable[[], None]] = []
        if keys and ledger is not None:

            def items() -> None:
                facts.items = caught(ledger.services)(list(dict.fromkeys(keys)))

            reads.append(items)
        if wanted and store is not None:

            def approvals() -> None:
                facts.approvals = caught(store.approvals)(wanted)

            reads.append(approvals)
        if alarms is not None:
            for region, names in regions.items():

                def states(region: str = region, names: tuple[str, ...] = tuple(dict.fromkeys(names))) -> None:
                    facts.alarms[region] = caught(functools.partial(alarms.alarm_states, region))(names)

                reads.append(states)
        concurrently(_call, reads, self._max_workers)
        return facts

    # ---- approvals ------------------------------------------------------------------------------------------

    def _approval_id(self, event: ImageEvent, plan: Plan) -> str:
        from ecr_autodeploy.core.approvals import approval_id

        return approval_id(plan.target.rule or 0, event.repository, plan.digest or "")

    def _approval(self, event: ImageEvent, plan: Plan, facts: Facts, now: float) -> Hold | str | AwsError | None:
        from ecr_autodeploy.core.gates import approval_hold

        if self.store is None:
            return Hold("skipped", "approval", NO_LEDGER_APPROVAL)
        if isinstance(facts.approvals, AwsError):
            return facts.approvals
        wanted = self._approval_id(event, plan)
        return approval_hold(facts.approvals.get(wanted), wanted, now, self.command("approve", wanted))

    def _request(
        self,
        event: ImageEvent,
        wanted: str,
        plans: Sequence[Plan],
        images: Mapping[str, ImageInfo],
        now: float,
        *,
        record: bool,
    ) -> dict[str, Hold | AwsError]:
        """Request one approval for these plans (one rule, one image); return each plan's hold."""
        from ecr_autodeploy.core.approvals import Approval
        from ecr_autodeploy.core.gates import approval_hold
        from ecr_autodeploy.core.timefmt import epoch, iso

        assert self.store is not None  # _approval holds every plan without a store
        first = plans[0].target
        assert first.gates is not None  # only an approval rule requests one
        assert first.rule is not None
        image = images[first.key]
        approval = Approval(
            id=wanted,
            state="pending",
            rule=first.rule,
            repository=event.repository,
            digest=image.digest,
            registry_id=event.account,
            region=event.region,
            requested_at=now,
            deadline=now + first.gates.expires,
            targets=tuple(p.target.ref.ledger_key for p in plans),
            tag=plans[0].tag,
            image_tags=image.tags,
            pushed_at=epoch(image.pushed_at) if image.pushed_at else None,
            rule_document=_rule_document(self.config, first.rule),
            plans=tuple(_plan_summary(p) for p in plans),
            approvers=first.gates.approvers,
            event_id=event.event_id,
            event_kind=event.kind,
        )
        keys = {p.target.key for p in plans}
        command = self.command("approve", wanted)
        try:
            rivals = [
                a
                for a in self.store.open_approvals()
                if a.id != wanted and a.rule == first.rule and a.repository == event.repository
            ]
            newer = [a for a in rivals if a.digest != image.digest and first.order.newer(a.image, image)]
            if newer:
                reason = (
                    f"a newer image {newer[0].image_text} of this rule is pending approval {newer[0].id}: "
                    f"{image.digest} is not proposed"
                )
                return dict.fromkeys(keys, Hold("skipped", "approval", reason, newer[0].id))
            if self.reporter.dry_run or not record:
                hold = Hold("pending_approval", "approval", f"would request approval {wanted}: {command}", wanted)
                return dict.fromkeys(keys, hold)
            existing = self.store.request(approval)
            if existing is not None:
                # Requested meanwhile (another invocation, under other locks): judge by what is there.
                again = approval_hold(existing, wanted, now, command)
                held = again if isinstance(again, Hold) else None
                return {k: held for k in keys if held is not None}
            for older in rivals:
                self.store.decide(
                    older.id,
                    "superseded",
                    None,
                    now,
                    f"superseded by approval {wanted} of {approval.image_text}",
                    superseded_by=wanted,
                )
        except AwsError as err:
            return dict.fromkeys(keys, err)
        from ecr_autodeploy.core.messages import approval_message

        self.reporter.send([approval_message(approval, command, self.command("reject", wanted))])
        reason = f"approval {wanted} requested (until {iso(approval.deadline)}): {command}"
        return dict.fromkeys(keys, Hold("pending_approval", "approval", reason, wanted))

    def expire(self) -> tuple[list[str], list[Message]]:
        """Close every pending approval past its deadline; return a note and a message for each (a dry run: notes).

        Only an installation whose rules require approval reads them (one GetItem of the index, then the items).
        """
        if self.store is None or not self.config.approvals:
            return [], []
        from ecr_autodeploy.core.messages import expired_message
        from ecr_autodeploy.core.timefmt import iso

        now = self._clock()
        notes: list[str] = []
        messages: list[Message] = []
        for approval in self.store.open_approvals():
            if not approval.expired_at(now):
                continue
            what = f"approval {approval.id} of {approval.image_text} ({', '.join(approval.targets)})"
            if self.reporter.dry_run:
                notes.append(f"{what} would be closed: expired at {iso(approval.deadline)}")
                continue
            reason = f"not approved by {iso(approval.deadline)}: closed, not deployed"
            closed = self.store.decide(approval.id, "expired", None, now, reason)
            if closed is not None:
                notes.append(f"{what} expired: {reason}")
                messages.append(expired_message(closed))
        return notes, messages

    # ---- waves ----------------------------------------------------------------------------------------------

    def _waves(self, event: ImageEvent, plans: Sequence[Plan], facts: Facts) -> dict[str, Hold | AwsError]:
        from ecr_autodeploy.core.gates import wave_holds

        found: dict[str, Hold | AwsError] = {}
        for rule in _wave_rules(plans):
            mine = [p for p in plans if p.target.rule == rule]
            if isinstance(facts.items, AwsError):
                found.update(dict.fromkeys((p.target.key for p in mine), facts.items))
                continue
            size = mine[0].target.gates.max_parallel if mine[0].target.gates else None
            assert size is not None  # a wave rule
            by_ledger = {p.target.ref.ledger_key: p.target.key for p in mine}
            order = [t.ref.ledger_key for t in targets_of(self.config, event, rule)]
            needy = [k for k in order if k in by_ledger]
            holds = wave_holds(order, needy, facts.items, mine[0].digest or "", size)
            found.update({by_ledger[k]: h for k, h in holds.items()})
        return found


def _wave_rules(plans: Sequence[Plan]) -> list[int]:
    return list(
        dict.fromkeys(
            p.target.rule
            for p in plans
            if p.target.rule is not None and p.target.gates is not None and p.target.gates.max_parallel
        )
    )


def _call(read: Callable[[], None]) -> None:
    read()


def _open(claim: Claim | AutodeployError | None) -> bool:
    """Return True unless a claim made ahead was lost or failed (the executor reports those)."""
    return claim is None or (isinstance(claim, Claim) and claim.won)


def _held(plan: Plan, decided: Hold | AwsError | None, event: ImageEvent) -> Plan | Outcome:
    if decided is None:
        return plan
    if isinstance(decided, AwsError):
        # A gate that cannot be judged does not let the deploy through: the target fails and the event is retried.
        return failed_outcome(plan.target, event, decided, plan)
    return replace(plan, hold=decided)


def _plan_summary(plan: Plan) -> dict[str, object]:
    return {
        "target": plan.target.key,
        "action": plan.action,
        "reason": plan.reason,
        "task_definition": plan.current_task_definition,
        "images": dict(plan.images),
    }


def _rule_document(config: Config, rule: int) -> dict[str, object]:
    rules = config.raw.get("rules") or []
    document = rules[rule] if 0 <= rule < len(rules) else {}
    copy: dict[str, object] = json.loads(json.dumps(document))  # a plain copy of the JSON the rule was read from
    return copy


def targets_of(config: Config, event: ImageEvent, rule: int) -> list[Target]:
    """Return every target of rules[`rule`] for the event's repository, in the rule's order."""
    targets, _ = map_repository(config, event.repository, event.repository_arn, event.region)
    return [t for t in targets if t.rule == rule]
