"""Approve and reject: a person's decision about a pending deployment (the CLI's use case; the function only
requests approvals and closes expired ones, engine/gates.py).

``approve`` deploys through the same engine as an event, with every check judged at that moment: the service's
lock, the claim, the image's order against what runs now, the pauses, and the rule's other gates (a window that
is closed defers it, and the scheduled reconcile deploys it once it opens: the approval stands). It deploys under
the rule the function read when it asked (kept with the approval) to the targets that rule maps now. An approval
that a newer image superseded, that was decided, or that expired is refused, saying so, and nothing is deployed.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from ecr_autodeploy.core.approvals import Approval
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.errors import ApprovalError
from ecr_autodeploy.core.events import ImageEvent, repository_arn
from ecr_autodeploy.core.mapping import Target, map_repository
from ecr_autodeploy.core.outcomes import Result
from ecr_autodeploy.core.rules import parse_rule
from ecr_autodeploy.core.timefmt import iso
from ecr_autodeploy.engine.deploy import Deployer
from ecr_autodeploy.engine.ports import GateStorePort

DeployerFor = Callable[[Config], Deployer]  # the deploy engine wired for a configuration (the approval's rule)


class Approvals:
    """List, approve and reject the approvals of an installation."""

    def __init__(self, store: GateStorePort, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    def open(self) -> list[Approval]:
        """Return the pending approvals, oldest first."""
        return self.store.open_approvals()

    def approve(self, approval: str, caller: str, deployer: DeployerFor) -> tuple[Approval, Result]:
        """Approve a pending deployment as `caller` and deploy it; return the approval and the deploy's result.

        `deployer` wires the deploy engine for a configuration (the approval's rule). Raise ApprovalError when it
        cannot be approved (nothing is deployed then), DeployError when a target failed.
        """
        pending = self.check(approval, caller, "approve", close=True)
        now = self._clock()
        decided = self.store.decide(approval, "approved", caller, now, f"approved by {caller} at {iso(now)}")
        if decided is None:
            raise ApprovalError(f"approval {approval} was decided by someone else just now: nothing deployed")
        config = approval_config(pending)
        event = approval_event(pending, caller, now)
        return decided, deployer(config).deploy(event, approval_targets(config, pending, event))

    def preview(self, approval: str, caller: str, deployer: DeployerFor) -> tuple[Approval, Result]:
        """Return what approving would deploy now, deciding and writing nothing.

        `deployer` is a dry-run engine that reads the gates' items as if this approval were given.
        """
        pending = self.check(approval, caller, "approve")
        config = approval_config(pending)
        event = approval_event(pending, caller, self._clock())
        return pending, deployer(config).deploy(event, approval_targets(config, pending, event))

    def reject(self, approval: str, caller: str, reason: str | None = None) -> Approval:
        """Reject a pending deployment as `caller`; return it. Raise ApprovalError when it cannot be rejected."""
        self.check(approval, caller, "reject", close=True)
        now = self._clock()
        why = f"rejected by {caller} at {iso(now)}" + (f": {reason}" if reason else "")
        decided = self.store.decide(approval, "rejected", caller, now, why)
        if decided is None:
            raise ApprovalError(f"approval {approval} was decided by someone else just now")
        return decided

    def check(self, approval: str, caller: str, verb: str, *, close: bool = False) -> Approval:
        """Return the approval if `caller` may `verb` it now; raise ApprovalError saying why not.

        With `close`, one found past its deadline is closed there and then (expired).
        """
        found = self.store.approvals([approval]).get(approval)
        if found is None:
            raise ApprovalError(
                f"no approval {approval} in the ledger (`ecr-autodeploy approvals` lists the pending ones; a decided "
                "one is kept 30 days)"
            )
        if found.state == "superseded":
            raise ApprovalError(
                f"approval {approval} of {found.image_text} was superseded by approval {found.superseded_by} of a "
                "newer image: nothing deployed (approve that one instead)"
            )
        if not found.open:
            raise ApprovalError(f"approval {approval} of {found.image_text} is {describe_state(found)}: nothing done")
        now = self._clock()
        if found.expired_at(now):
            reason = f"not approved by {iso(found.deadline)}: closed, not deployed"
            if close:
                self.store.decide(approval, "expired", None, now, reason)
            raise ApprovalError(f"approval {approval} of {found.image_text} expired at {iso(found.deadline)}: {reason}")
        if not may_decide(found.approvers, caller):
            raise ApprovalError(
                f"{caller or 'the caller'} may not {verb} approval {approval}: rules[{found.rule}] names its approvers "
                f"({', '.join(found.approvers)})"
            )
        return found


def approval_config(approval: Approval) -> Config:
    """Return a configuration of the one rule the function read when it requested the approval."""
    source = f"approval {approval.id}"
    rule = parse_rule(approval.rule_document, approval.rule, source)
    return Config(source, (rule,), None, {"rules": [dict(approval.rule_document)]})


def approval_event(approval: Approval, caller: str, now: float) -> ImageEvent:
    """Return the image event of an approval, naming who gave it (recorded with the deployment)."""
    by = f" by {caller}" if caller else ""
    return ImageEvent(
        "approval",
        f"approval-{approval.id}-{uuid.uuid4().hex[:8]}{by}",
        datetime.fromtimestamp(now, UTC).isoformat(timespec="seconds"),
        approval.registry_id,
        approval.region,
        approval.repository,
        repository_arn(approval.registry_id, approval.region, approval.repository),
        approval.tag,
        approval.digest,
    )


def approval_targets(config: Config, approval: Approval, event: ImageEvent) -> list[Target]:
    """Return the targets the approval's rule maps the image to now, in the rule's order."""
    targets, _ = map_repository(config, approval.repository, event.repository_arn, event.region)
    return [t for t in targets if t.rule == approval.rule]


def may_decide(approvers: Sequence[str], caller: str) -> bool:
    """Return True when `caller` (an ARN from GetCallerIdentity) is one of `approvers` (none listed: anyone).

    A role ARN covers the sessions of that role (``arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION``, the ARN
    GetCallerIdentity reports for it, which drops the role's path); ``arn:aws:iam::ACCOUNT:root`` covers the
    account's principals.
    """
    if not approvers:
        return True
    return any(_covers(approver, caller) for approver in approvers)


def _covers(approver: str, caller: str) -> bool:
    if approver == caller:
        return True
    parts = approver.split(":")
    theirs = caller.split(":")
    if len(parts) < 6 or len(theirs) < 6 or parts[4] != theirs[4]:
        return False  # another account (or not an ARN)
    if parts[5] == "root":
        return True
    if parts[5].startswith("role/") and theirs[2] == "sts" and theirs[5].startswith("assumed-role/"):
        return theirs[5].split("/")[1] == parts[5].rsplit("/", 1)[-1]
    return False


def describe_state(approval: Approval) -> str:
    """Return an approval's state with who decided it and when, for people."""
    if approval.state == "pending":
        return f"pending until {iso(approval.deadline)}"
    by = f" by {approval.decided_by}" if approval.decided_by else ""
    extra = f" (superseded by {approval.superseded_by})" if approval.superseded_by else ""
    return f"{approval.state}{by} at {iso(approval.decided_at)}{extra}"


def approval_data(approval: Approval) -> dict[str, Any]:
    """Return an approval as JSON-ready data (times as ISO 8601, nested values as they are)."""
    data: dict[str, Any] = {
        k: v for k, v in approval.to_item().items() if k not in ("rule_document", "targets", "plans", "image_tags")
    }
    data.update(
        targets=list(approval.targets),
        plans=list(approval.plans),
        image_tags=list(approval.image_tags),
        approvers=list(approval.approvers),
        rule_document=dict(approval.rule_document),
    )
    for name in ("requested_at", "deadline", "pushed_at", "decided_at"):
        value = getattr(approval, name)
        data[name] = iso(value) if value is not None else None
    return data
