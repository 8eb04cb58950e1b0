"""Approvals as data: the pending deployment a rule with ``approval: required`` records, its id, who may decide.

An approval is one image for one rule: its id is derived from (rule, repository, digest), so a redelivered event,
the next reconcile and the approve command all meet the same item, and an image that was rejected or expired is
not proposed again. Its item (``approval#ID``) holds the image, the targets and the plan each would apply, the
rule as the function read it (so ``approve`` deploys under that rule), the deadline and the decision. The ids of
the open ones are kept in one index item (``approval#open``), so listing them needs no Scan. Who may decide,
and how an approval reads for people, is the CLI's (engine/approvals.py): the function only asks and closes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import field, fields, replace
from datetime import UTC, datetime
from typing import Any, Literal

from ecr_autodeploy.core.model import ImageInfo
from ecr_autodeploy.core.values import frozen

ApprovalState = Literal["pending", "approved", "rejected", "expired", "superseded"]
APPROVAL_STATES: tuple[ApprovalState, ...] = ("pending", "approved", "rejected", "expired", "superseded")
ID_LENGTH = 12
# Nested values, and lists whose order matters, are stored as JSON text.
_JSON_FIELDS = ("rule_document", "targets", "plans", "image_tags")


def approval_id(rule: int, repository: str, digest: str) -> str:
    """Return the id of the approval of `digest` of `repository` under rules[`rule`] (12 hex digits)."""
    return hashlib.sha256(f"{rule}|{repository}|{digest}".encode()).hexdigest()[:ID_LENGTH]


def approval_command(verb: str, approval: str, name: str | None, region: str | None) -> str:
    """Return the exact command that approves (or rejects) an approval of an installation."""
    words = ["ecr-autodeploy", verb, approval]
    if region:
        words += ["--region", region]
    if name:
        words += ["--name", name]
    return " ".join(words)


@frozen
class Approval:
    """One pending deployment awaiting a person, or the decision about it."""

    id: str
    state: ApprovalState
    rule: int
    repository: str
    digest: str
    registry_id: str
    region: str  # of the registry the image is deployed from (the event's region)
    requested_at: float
    deadline: float
    targets: tuple[str, ...]  # ledger keys of the services it deploys to, in the rule's order
    tag: str | None = None
    image_tags: tuple[str, ...] = ()
    pushed_at: float | None = None
    rule_document: Mapping[str, Any] = field(default_factory=dict, hash=False)  # the rule as the function read it
    plans: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)  # per target: what it would apply
    approvers: tuple[str, ...] = ()
    event_id: str | None = None
    event_kind: str | None = None
    decided_by: str | None = None  # who approved or rejected it (the caller's ARN)
    decided_at: float | None = None
    reason: str | None = None
    superseded_by: str | None = None

    @property
    def open(self) -> bool:
        """Return True while the approval awaits a decision."""
        return self.state == "pending"

    def expired_at(self, now: float) -> bool:
        """Return True when it is still pending at or after its deadline."""
        return self.open and now >= self.deadline

    @property
    def image(self) -> ImageInfo:
        """Return the image as ECR described it when the approval was requested."""
        pushed = datetime.fromtimestamp(self.pushed_at, UTC) if self.pushed_at is not None else None
        return ImageInfo(self.repository, self.registry_id, self.digest, self.image_tags, pushed)

    @property
    def image_text(self) -> str:
        """Return ``repository:tag@sha256:0123456789ab`` for people."""
        return f"{self.repository}{':' + self.tag if self.tag else ''}@{self.digest[:19]}"

    def closed(self, state: ApprovalState, by: str | None, now: float, reason: str, **changes: Any) -> Approval:
        """Return the approval decided (or closed) by `by` at `now`."""
        return replace(self, state=state, decided_by=by, decided_at=now, reason=reason, **changes)

    def to_item(self) -> dict[str, Any]:
        """Return the approval as flat item attributes (nested values as JSON text, None left out)."""
        values: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _JSON_FIELDS:
            value = values[name]
            values[name] = json.dumps(list(value) if isinstance(value, tuple) else dict(value), sort_keys=True)
        values["approvers"] = frozenset(self.approvers) or None
        return {k: v for k, v in values.items() if v is not None}

    @classmethod
    def from_item(cls, item: Mapping[str, Any]) -> Approval:
        """Return the approval stored in an item (unknown attributes ignored)."""
        names = {f.name for f in fields(cls)}
        values: dict[str, Any] = {k: v for k, v in item.items() if k in names}
        for name in _JSON_FIELDS:
            if isinstance(values.get(name), str):
                values[name] = json.loads(values[name])
        values["targets"] = tuple(values.get("targets") or ())
        values["plans"] = tuple(values.get("plans") or ())
        values["image_tags"] = tuple(values.get("image_tags") or ())
        values["approvers"] = tuple(sorted(values.get("approvers") or ()))
        values["rule"] = int(values.get("rule", -1))
        for name in ("requested_at", "deadline", "pushed_at", "decided_at"):
            if values.get(name) is not None:
                values[name] = float(values[name])
        values.setdefault("state", "pending")
        return cls(**values)
