"""The gates' ledger items: pauses and approvals, in the deploy ledger's table, every read by key (no Query, Scan).
The function reads pauses; writing them is a person's (aws/pause_book.py, the CLI's).

    pause#installation   one attribute per paused scope (``all``, ``rule:N``, ``service:KEY``), JSON as value
    approval#ID          one approval (core/approvals.py); a decision is one conditional write (pending -> ...)
    approval#open        the string set ``ids`` of the pending approvals: listing reads it, then the items

An approval is written to the index before its item and leaves it after its decision, each an idempotent
write: an id whose item is missing or no longer pending is dropped from the index the next time it is listed,
so a crash between the two writes leaves nothing open that nobody sees.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ecr_autodeploy.aws.clients import aws_errors
from ecr_autodeploy.aws.dynamodb_items import Expr, from_item, key_of, to_item
from ecr_autodeploy.aws.ledger_table import LedgerTable
from ecr_autodeploy.core.approvals import Approval, ApprovalState
from ecr_autodeploy.core.ledger_items import (
    APPROVAL_TTL_SECONDS,
    OPEN_APPROVALS_PK,
    PAUSES_PK,
    approval_pk,
)
from ecr_autodeploy.core.pauses import Pause, Pauses

_KEY_ATTRIBUTES = ("pk", "expires_at")


class GateStore(LedgerTable):
    """Pauses and approvals in the ledger table."""

    # ---- pauses ---------------------------------------------------------------------------------------------

    def pauses(self) -> Pauses:
        """Return every pause (one consistent GetItem)."""
        with aws_errors("reading pauses", self.table):
            found = self._client().get_item(TableName=self.table, Key=key_of(PAUSES_PK), ConsistentRead=True)
        item = from_item(found.get("Item") or {})
        return Pauses(
            tuple(
                Pause.from_value(scope, str(value))
                for scope, value in sorted(item.items())
                if scope not in _KEY_ATTRIBUTES
            )
        )

    # ---- approvals --------------------------------------------------------------------------------------------

    def approvals(self, ids: Iterable[str]) -> dict[str, Approval]:
        """Return these approvals (missing ones left out), 100 keys per call."""
        found = self._batch_get("reading approvals", [approval_pk(i) for i in dict.fromkeys(ids)])
        approvals = (Approval.from_item(item) for item in found)
        return {a.id: a for a in approvals}

    def open_approvals(self) -> list[Approval]:
        """Return the pending approvals, oldest first; ids no longer pending are dropped from the index."""
        with aws_errors("reading open approvals", self.table):
            found = self._client().get_item(TableName=self.table, Key=key_of(OPEN_APPROVALS_PK), ConsistentRead=True)
        ids = sorted(from_item(found.get("Item") or {}).get("ids") or ())
        approvals = self.approvals(ids) if ids else {}
        stale = [i for i in ids if i not in approvals or not approvals[i].open]
        if stale:
            self._index(remove=stale)
        return sorted((a for a in approvals.values() if a.open), key=lambda a: (a.requested_at, a.id))

    def request(self, approval: Approval) -> Approval | None:
        """Record a new pending approval; return the one already there (same id) instead, if any."""
        self._index(add=[approval.id])
        item = {"pk": approval_pk(approval.id), **approval.to_item()}
        item["expires_at"] = int(approval.deadline) + APPROVAL_TTL_SECONDS
        e = Expr()
        condition = f"attribute_not_exists({e.name('pk')})"
        stopped = self._conditional(
            "requesting approval",
            approval.id,
            lambda c: c.put_item(
                **e.params(
                    TableName=self.table,
                    Item=to_item(item),
                    ConditionExpression=condition,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            ),
            approval_pk(approval.id),
        )
        if stopped is None:
            return None
        existing = Approval.from_item(stopped)
        if not existing.open:
            self._index(remove=[approval.id])
        return existing

    def decide(
        self,
        approval: str,
        state: ApprovalState,
        by: str | None,
        now: float,
        reason: str,
        *,
        superseded_by: str | None = None,
    ) -> Approval | None:
        """Close a pending approval once (approved, rejected, expired, superseded); None when it was not pending."""
        e = Expr()
        update = e.update(
            {
                "state": state,
                "decided_by": by,
                "decided_at": now,
                "reason": reason,
                "superseded_by": superseded_by,
                "expires_at": int(now) + APPROVAL_TTL_SECONDS,
            }
        )
        condition = f"{e.name('state')} = {e.value('pending')}"
        after = self._updated("deciding approval", approval, approval_pk(approval), e, update, condition)
        if after is None:
            return None
        self._index(remove=[approval])
        return Approval.from_item(after)

    def _index(self, *, add: Sequence[str] = (), remove: Sequence[str] = ()) -> None:
        """Add ids to, or remove them from, the open approvals' index (idempotent)."""
        e = Expr()
        changes = {"ids": frozenset(add)} if add else None
        dropped = {"ids": frozenset(remove)} if remove else None
        update = e.update({}, adds=changes, deletes=dropped)
        with aws_errors("indexing open approvals", ", ".join([*add, *remove])):
            self._client().update_item(
                **e.params(TableName=self.table, Key=key_of(OPEN_APPROVALS_PK), UpdateExpression=update)
            )
