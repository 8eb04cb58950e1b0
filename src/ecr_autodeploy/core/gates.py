"""Gates: whether a deployment that a plan would start may start now (pure; engine/gates.py reads the facts).

A target whose plan would deploy meets its rule's gates in this order; the first that holds decides:

    promotion  ``after:`` the upstream service's last deployment is this digest, COMPLETED (``soak:`` ago)
    approval   ``approval: required``: an approval of this image (core/approvals.py) was given
    window     ``windows:``: one of them is open now
    alarm      ``hold_if_alarm:``: none of the alarms is in ALARM
    wave       ``max_parallel: N``: no earlier wave of this image is rolling out; N at a time; a failed one stops it

A pause (core/pauses.py) is met before any of these, before the service is even read. Every decision is a Hold:
``deferred`` (the scheduled reconcile deploys it once the gate opens: the newest allowed image, never every
event in between), ``pending_approval``, or ``skipped`` (a rejected, expired or superseded approval, a stopped
wave). Nothing here is stateful: the gates are judged afresh on every event, reconcile and approval.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ecr_autodeploy.core.approvals import Approval
from ecr_autodeploy.core.gate_rules import GateSettings, format_duration
from ecr_autodeploy.core.ledger_items import OPEN_STATES
from ecr_autodeploy.core.mapping import Target
from ecr_autodeploy.core.outcomes import Hold
from ecr_autodeploy.core.pauses import Pause
from ecr_autodeploy.core.records import ServiceItem
from ecr_autodeploy.core.timefmt import iso

FAILED_STATES = ("FAILED", "TIMEOUT")
REQUEST = "request"  # approval_hold: no approval of this image yet, so one is requested


def paused_hold(pause: Pause) -> Hold:
    """Return the hold of a paused target: skipped, ``paused (REASON)``."""
    return Hold("skipped", "pause", pause.skip_reason())


def promotion_hold(target: Target, digest: str, upstream: ServiceItem | None, now: float) -> Hold | None:
    """Return why a target may not take `digest` from its upstream yet (``after:``), or None when it may."""
    if target.after is None:
        return None
    where = f"after {target.after.key}"
    if upstream is None or upstream.digest != digest:
        last = (
            f"its last deployment by this tool is of {upstream.digest} ({upstream.state})"
            if upstream is not None and upstream.digest
            else "this tool has no deployment there on record"
        )
        reason = f"{where}: {digest} has not been deployed there ({last}); promoted once its rollout there COMPLETED"
        return Hold("deferred", "promotion", reason)
    if upstream.state in FAILED_STATES:
        return Hold("deferred", "promotion", f"{where}: the rollout of {digest} there {upstream.state}: not promoted")
    if upstream.state != "COMPLETED":
        reason = f"{where}: {digest} is rolling out there ({upstream.state}); promoted once its rollout COMPLETED"
        return Hold("deferred", "promotion", reason)
    finished = upstream.finished_at or 0.0
    if target.soak and now < finished + target.soak:
        reason = (
            f"{where}: {digest} COMPLETED there at {iso(finished)}; soaking {format_duration(target.soak)} "
            f"until {iso(finished + target.soak)}, then the scheduled reconcile deploys it"
        )
        return Hold("deferred", "promotion", reason)
    return None


def approval_hold(approval: Approval | None, wanted: str, now: float, command: str) -> Hold | str | None:
    """Return the hold of an approval-gated target: REQUEST when none exists yet, None once approved.

    `command` is how a person approves it (the notification and the reason carry it).
    """
    if approval is None:
        return REQUEST
    if approval.state == "approved":
        return None
    if approval.state == "pending":
        if approval.expired_at(now):
            reason = f"approval {wanted} expired at {iso(approval.deadline)} without a decision: not deployed"
            return Hold("skipped", "approval", reason, wanted)
        reason = f"waiting for approval {wanted} (until {iso(approval.deadline)}): {command}"
        return Hold("pending_approval", "approval", reason, wanted)
    if approval.state == "superseded":
        reason = f"approval {wanted} was superseded by {approval.superseded_by or 'a newer image'}: not deployed"
        return Hold("skipped", "approval", reason, wanted)
    by = f" by {approval.decided_by}" if approval.decided_by else ""
    reason = f"approval {wanted} was {approval.state}{by} at {iso(approval.decided_at)}: not deployed"
    return Hold("skipped", "approval", reason, wanted)


def window_hold(gates: GateSettings, now: float) -> Hold | None:
    """Return the hold outside the rule's deployment windows, or None inside one (or without windows)."""
    from ecr_autodeploy.core.windows import describe_local, next_opening, open_now

    if open_now(gates.windows, now):
        return None
    opens = next_opening(gates.windows, now)
    assert opens is not None  # a closed window exists, so one opens
    first = min(gates.windows, key=lambda w: w.next_open(now))
    reason = (
        f"outside its deployment windows ({'; '.join(w.text for w in gates.windows)}): the next opens "
        f"{iso(opens)} ({describe_local(opens, first.zone)}); the scheduled reconcile deploys the newest allowed "
        "image then"
    )
    return Hold("deferred", "window", reason)


def alarm_hold(names: Sequence[str], states: Mapping[str, str], region: str) -> Hold | None:
    """Return the hold while a ``hold_if_alarm`` alarm is in ALARM (or does not exist), else None.

    `states` maps each alarm that exists in `region` to its StateValue (OK, ALARM, INSUFFICIENT_DATA).
    """
    firing = [n for n in names if states.get(n) == "ALARM"]
    if firing:
        alarms = ", ".join(firing)
        return Hold("deferred", "alarm", f"alarm {alarms} in ALARM ({region}): deployed once none of them is")
    missing = [n for n in names if n not in states]
    if missing:
        reason = (
            f"alarm {', '.join(missing)} does not exist in {region}: held until it exists or hold_if_alarm drops it"
        )
        return Hold("deferred", "alarm", reason)
    return None


def wave_holds(
    order: Sequence[str], needy: Sequence[str], items: Mapping[str, ServiceItem], digest: str, size: int
) -> dict[str, Hold]:
    """Return the hold of each needy target of a ``max_parallel`` rule (absent: it deploys now).

    `order` is every target of the rule (ledger keys, in the rule's order), `needy` those that would deploy
    `digest` now, `items` the services' ledger items. A target whose last rollout of `digest` failed stops the
    rest; while earlier ones still roll it out, the rest wait; else the first `size` needy ones deploy.
    """
    failed = [k for k in order if _failed(items.get(k), digest)]
    if failed:
        reason = (
            f"the rollout of {digest} failed on {', '.join(failed)}: max_parallel stops the rest of the fan-out "
            "(a newer image, or a deploy by hand, moves it on)"
        )
        return {k: Hold("skipped", "wave", reason) for k in needy}
    waiting = set(needy)
    rolling = [k for k in order if k not in waiting and _rolling(items.get(k), digest)]
    done = [k for k in order if k not in waiting and k not in rolling and _on(items.get(k), digest)]
    wave = len(done) // size + 1
    if rolling:
        going: list[str] = []
        ahead = rolling
    else:
        going = [k for k in order if k in waiting][:size]
        ahead = going
    reason = f"max_parallel {size}: waiting for wave {wave} ({', '.join(ahead)}) to complete"
    return {k: Hold("deferred", "wave", reason) for k in needy if k not in going}


def _on(item: ServiceItem | None, digest: str) -> bool:
    return item is not None and item.digest == digest


def _rolling(item: ServiceItem | None, digest: str) -> bool:
    return item is not None and item.digest == digest and item.state in OPEN_STATES


def _failed(item: ServiceItem | None, digest: str) -> bool:
    return item is not None and (
        digest in item.failed_digests or (item.digest == digest and item.state in FAILED_STATES)
    )
