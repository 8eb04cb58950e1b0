"""Pauses (a freeze): ``ecr-autodeploy pause --all | --rule N | --service C/S``; while one covers a target, its
events are logged and skipped, and on ``resume`` the scheduled reconcile deploys the newest allowed image.

Every pause of an installation lives in one ledger item (``pause#installation``), one attribute per scope, so a deploy
reads them all with a single GetItem by key (core/ledger_items.py); a scope is ``all``, ``rule:N`` or
``service:REGION/CLUSTER/SERVICE``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ecr_autodeploy.core.timefmt import iso
from ecr_autodeploy.core.values import frozen

if TYPE_CHECKING:
    from ecr_autodeploy.core.mapping import Target

SCOPE_ALL = "all"
_RULE = "rule:"
_SERVICE = "service:"


def rule_scope(index: int) -> str:
    """Return the scope of one rule's targets."""
    return f"{_RULE}{index}"


def service_scope(key: str) -> str:
    """Return the scope of one service (``REGION/CLUSTER/SERVICE``)."""
    return f"{_SERVICE}{key}"


@frozen
class Pause:
    """One pause: what it covers, why, who paused and when (epoch seconds)."""

    scope: str
    reason: str
    by: str | None = None
    at: float | None = None

    @property
    def covers(self) -> str:
        """Return what the pause covers, for people: every deploy, rule N, or a service."""
        if self.scope == SCOPE_ALL:
            return "every deploy"
        if self.scope.startswith(_RULE):
            return f"rules[{self.scope.removeprefix(_RULE)}]"
        return f"service {self.scope.removeprefix(_SERVICE)}"

    @property
    def resume_flags(self) -> str:
        """Return the ``resume`` options that lift this pause."""
        if self.scope == SCOPE_ALL:
            return "--all"
        if self.scope.startswith(_RULE):
            return f"--rule {self.scope.removeprefix(_RULE)}"
        region, _, service = self.scope.removeprefix(_SERVICE).partition("/")
        return f"--service {service} --region {region}"

    def skip_reason(self) -> str:
        """Return the reason of a skipped target: ``paused (REASON)`` and how to resume."""
        return (
            f"paused ({self.reason}): {self.covers} since {iso(self.at)}; "
            f"`ecr-autodeploy resume {self.resume_flags}` lifts it and the scheduled reconcile deploys the newest "
            "allowed image"
        )

    def to_value(self) -> str:
        """Return the pause as the JSON text stored in its attribute."""
        return json.dumps({"reason": self.reason, "by": self.by, "at": self.at}, sort_keys=True)

    @classmethod
    def from_value(cls, scope: str, value: str) -> Pause:
        """Return the pause stored as JSON text (an unreadable value still pauses, with what it holds)."""
        try:
            data: Any = json.loads(value)
        except json.JSONDecodeError:
            data = {"reason": value}
        if not isinstance(data, Mapping):
            data = {"reason": str(data)}
        at = data.get("at")
        return cls(scope, str(data.get("reason") or "no reason given"), data.get("by"), float(at) if at else None)


@frozen
class Pauses:
    """Every pause of an installation."""

    items: tuple[Pause, ...] = ()

    def of(self, target: Target) -> Pause | None:
        """Return the pause that covers a target: its service's, else its rule's, else the installation's."""
        by_scope = {p.scope: p for p in self.items}
        found = by_scope.get(service_scope(target.key))
        if found is None and target.rule is not None:
            found = by_scope.get(rule_scope(target.rule))
        return found or by_scope.get(SCOPE_ALL)
