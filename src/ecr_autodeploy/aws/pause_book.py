"""Pausing and resuming: the writes of the pause item (``pause#installation``), a person's, by the CLI; and the
items as one approval would make them (``approve --dry-run``).

One UpdateItem per change: a pause sets its scope's attribute, a resume removes them; both return what was there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.aws.dynamodb_items import Expr, from_item, key_of
from ecr_autodeploy.aws.gate_store import GateStore
from ecr_autodeploy.core.approvals import Approval
from ecr_autodeploy.core.ledger_items import PAUSES_PK
from ecr_autodeploy.core.pauses import Pause


class PauseBook(GateStore):
    """The gates' items, and the writes that pause and resume."""

    def pause(self, pause: Pause) -> Pause | None:
        """Pause a scope (replacing its reason); return the pause it replaced, if any."""
        e = Expr()
        update = e.update({pause.scope: pause.to_value()})
        with aws_errors("pausing", pause.scope):
            old = self._client().update_item(
                **e.params(
                    TableName=self.table, Key=key_of(PAUSES_PK), UpdateExpression=update, ReturnValues="UPDATED_OLD"
                )
            )
        before = from_item(old.get("Attributes") or {}).get(pause.scope)
        return Pause.from_value(pause.scope, str(before)) if before is not None else None

    def resume(self, scopes: Sequence[str] | None) -> list[Pause]:
        """Lift the pauses of these scopes (None: every pause); return the ones that were there."""
        wanted = [p.scope for p in self.pauses().items] if scopes is None else list(scopes)
        if not wanted:
            return []
        e = Expr()
        update = e.update({}, wanted)
        with aws_errors("resuming", ", ".join(wanted)):
            old = self._client().update_item(
                **e.params(TableName=self.table, Key=key_of(PAUSES_PK), UpdateExpression=update, ReturnValues="ALL_OLD")
            )
        before = from_item(old.get("Attributes") or {})
        return [Pause.from_value(scope, str(before[scope])) for scope in wanted if scope in before]


class Given(PauseBook):
    """The gates' items as they would be with one approval given: what ``approve --dry-run`` plans with."""

    def __init__(self, clients: Clients, table: str, approval: str) -> None:
        super().__init__(clients, table)
        self._approval = approval

    def approvals(self, ids: Iterable[str]) -> dict[str, Approval]:
        """Return these approvals, the one being tried as given."""
        found = super().approvals(ids)
        if self._approval in found:
            found[self._approval] = replace(found[self._approval], state="approved")
        return found
