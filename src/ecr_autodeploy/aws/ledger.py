"""DynamoDB adapter of the deploy ledger: conditional writes that make deploys once-only and serialised per service.

Every decision is one conditional write (or one transaction), which DynamoDB applies atomically: the lock
(``svc#``) is taken when it is free, its lease has passed, or it is already ours (a retry after a lost reply), and
released by its holder only, with the deployment's record; a claim (``claim#``) is written only when absent, or
when its claimer died before deploying, or it is ours, and together with a check that we still hold the lock; a
deployment record leaves STARTED/IN_PROGRESS once. Item layout: core/ledger_items.py; reads: aws/ledger_table.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ecr_autodeploy.aws.clients import aws_errors
from ecr_autodeploy.aws.dynamodb_items import Expr, from_item, key_of, number, text, to_item
from ecr_autodeploy.aws.ledger_table import LedgerTable, claim_from
from ecr_autodeploy.core.errors import LockLost
from ecr_autodeploy.core.ledger_items import (
    CLAIM_TTL_SECONDS,
    DRIFT_NOTICE_TTL_SECONDS,
    OPEN_STATES,
    RECORD_TTL_SECONDS,
    claim_pk,
    deployment_pk,
    drift_pk,
    service_pk,
)
from ecr_autodeploy.core.records import Claim, Lock, Recorded

if TYPE_CHECKING:
    from ecr_autodeploy.core.records import DeploymentRecord


class Ledger(LedgerTable):
    """The ledger's writes: locks, claims, deployment records, drift notices."""

    # ---- per-service lock ---------------------------------------------------------------------------------

    def lock(self, key: str, owner: str, now: float, lease: float) -> Lock:
        """Take the service's lock for `lease` seconds; return it with the service's item as it was before.

        When another holds it, return who and until when.
        """
        from ecr_autodeploy.core.records import ServiceItem

        e = Expr()
        update = e.update(
            {"lease_owner": owner, "lease_until": now + lease, "expires_at": int(now) + RECORD_TTL_SECONDS}
        )
        until = e.name("lease_until")
        # Our own lease counts as free: a retry after a lost reply to this very write must not lock us out.
        mine = f"{e.name('lease_owner')} = {e.value(owner)}"
        condition = f"attribute_not_exists({until}) OR {until} < {e.value(now)} OR {mine}"
        answer: dict[str, Any] = {}
        stopped = self._conditional(
            "locking service",
            key,
            lambda c: answer.update(
                c.update_item(
                    **e.params(
                        TableName=self.table,
                        Key=key_of(service_pk(key)),
                        UpdateExpression=update,
                        ConditionExpression=condition,
                        ReturnValues="ALL_OLD",
                        ReturnValuesOnConditionCheckFailure="ALL_OLD",
                    )
                )
            ),
            service_pk(key),
        )
        if stopped is None:
            before = from_item(answer.get("Attributes", {}))
            return Lock(True, owner, now + lease, ServiceItem.from_item(key, before) if before else None)
        return Lock(False, text(stopped.get("lease_owner")), number(stopped.get("lease_until")))

    def hold(self, key: str, owner: str, now: float, lease: float) -> bool:
        """Re-assert the lock: extend `owner`'s lease to now + `lease`; return False when another holds it now."""
        return self._update_if(
            "re-asserting service lock", key, service_pk(key), "lease_owner", owner, sets={"lease_until": now + lease}
        )

    def unlock(self, key: str, owner: str) -> bool:
        """Release the lock if we still hold it; return False when the lease had passed and another took it."""
        return self._update_if(
            "unlocking service", key, service_pk(key), "lease_owner", owner, removes=("lease_owner", "lease_until")
        )

    # ---- one deployment per (service, digest) ----------------------------------------------------------------

    def claim(
        self,
        key: str,
        digest: str,
        event_id: str,
        owner: str,
        now: float,
        lease: float,
        *,
        overwrite: bool = False,
        holding: bool = False,
    ) -> Claim:
        """Claim (service, digest); return the claim that was there first when another won (unless `overwrite`).

        With `holding`, the claim is one transaction with a check that `owner` still holds the service's lock, so
        it re-asserts the lock too; raise LockLost when it does not.
        """
        item = {
            "pk": claim_pk(key, digest),
            "state": "claimed",
            "event_id": event_id,
            "owner": owner,
            "claimed_at": now,
            "lease_until": now + lease,
            "expires_at": int(now) + CLAIM_TTL_SECONDS,
        }
        e = Expr()
        put: dict[str, Any] = {"TableName": self.table, "Item": to_item(item)}
        if not overwrite:
            pk, state, until = e.name("pk"), e.name("state"), e.name("lease_until")
            # Ours already (a retry after a lost reply) counts as won.
            mine = f"({state} = {e.value('claimed')} AND {e.name('owner')} = {e.value(owner)})"
            put["ConditionExpression"] = (
                f"attribute_not_exists({pk}) OR ({state} = {e.value('claimed')} AND {until} < {e.value(now)}) OR {mine}"
            )
            put["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        resource = f"{key}@{digest}"
        if holding:
            return self._claim_holding(key, digest, e.params(**put), owner, event_id, now, lease)
        stopped = self._conditional(
            "claiming image for service", resource, lambda c: c.put_item(**e.params(**put)), claim_pk(key, digest)
        )
        if stopped is None:
            return Claim(True, "claimed", event_id, None, now, now + lease)
        return claim_from(stopped)

    def _claim_holding(
        self, key: str, digest: str, put: Mapping[str, Any], owner: str, event_id: str, now: float, lease: float
    ) -> Claim:
        resource = f"{key}@{digest}"
        held = Expr()
        check = held.params(
            TableName=self.table,
            Key=key_of(service_pk(key)),
            ConditionExpression=f"{held.name('lease_owner')} = {held.value(owner)}",
        )
        cancelled = self._transact(
            "claiming image for service",
            resource,
            [{"Put": dict(put)}, {"ConditionCheck": check}],
            _token("claim", resource, owner),
        )
        if cancelled is None:
            return Claim(True, "claimed", event_id, None, now, now + lease)
        (claim_code, claimed), (lock_code, _) = cancelled
        if lock_code == "ConditionalCheckFailed":
            raise LockLost(f"service {key}: another invocation took its lock before the image was claimed; retry")
        if not claimed and claim_code == "ConditionalCheckFailed":
            with aws_errors("claiming image for service", resource):
                found = self._client().get_item(
                    TableName=self.table, Key=key_of(claim_pk(key, digest)), ConsistentRead=True
                )
            claimed = from_item(found.get("Item") or {})
        return claim_from(claimed)

    def unclaim(self, key: str, digest: str, owner: str) -> None:
        """Drop our claim after a deploy that did not start, so that a retry can deploy."""
        e = Expr()
        condition = f"{e.name('owner')} = {e.value(owner)}"
        self._conditional(
            "releasing claim",
            f"{key}@{digest}",
            lambda c: c.delete_item(
                **e.params(TableName=self.table, Key=key_of(claim_pk(key, digest)), ConditionExpression=condition)
            ),
            None,
        )

    # ---- deployment records ------------------------------------------------------------------------------------

    def started(
        self,
        record: DeploymentRecord,
        owner: str,
        *,
        claimed: bool,
        release: bool = False,
        supersedes: str | None = None,
    ) -> Recorded:
        """Record a deployment we started, confirm its claim and, with `release`, free the service's lock.

        One transaction (one call) of three writes: the ``dep#`` record, so its ECS events are recognised; the
        ``claim#`` confirmation (``claimed`` -> ``deployed``, if `owner` still holds the claim), so a redelivery is a
        ``duplicate``; the ``svc#`` last deployment with the lock's release (if `owner` still holds it); and with
        `supersedes`, a fourth: that deployment judged SUPERSEDED if it is still open. When a condition no longer
        holds (our lease or claim passed, the old deployment was judged meanwhile), the writes go one by one: a
        deployment that started is recorded all the same. Return what was done; raise AwsError.
        """
        item = {"pk": deployment_pk(record.deployment_id), **record.to_item()}
        item["expires_at"] = int(record.started_at) + RECORD_TTL_SECONDS
        writes: list[dict[str, Any]] = [{"Put": {"TableName": self.table, "Item": to_item(item)}}]
        digest = record.image.digest
        if claimed and digest:
            writes.append({"Update": self._confirm(record, owner)})
        writes.append({"Update": self._last_deployment(record, owner if release else None)})
        if supersedes:
            writes.append({"Update": self._supersede(supersedes, record)})
        cancelled = self._transact(
            "recording deployment", record.deployment_id, writes, _token("record", record.deployment_id, owner)
        )
        if cancelled is None:
            return Recorded(released=release, superseded=supersedes is not None)
        recorded = self._started_one_by_one(record, owner, claimed=claimed, release=release)
        if not supersedes:
            return recorded
        judged = self.finish(supersedes, SUPERSEDED, *_superseding(record), service=False)
        return Recorded(released=recorded.released, superseded=judged is not None)

    def _started_one_by_one(self, record: DeploymentRecord, owner: str, *, claimed: bool, release: bool) -> Recorded:
        item = {"pk": deployment_pk(record.deployment_id), **record.to_item()}
        item["expires_at"] = int(record.started_at) + RECORD_TTL_SECONDS
        client = self._client()
        with aws_errors("recording deployment", record.deployment_id):
            client.put_item(TableName=self.table, Item=to_item(item))
        if claimed and record.image.digest:
            self._conditional(
                "confirming claim",
                f"{record.service_key}@{record.image.digest}",
                lambda c: c.update_item(**self._confirm(record, owner)),
                None,
            )
        if release:
            held = self._conditional(
                "recording deployment",
                record.service_key,
                lambda c: c.update_item(**self._last_deployment(record, owner)),
                None,
            )
            if held is None:
                return Recorded(released=True)
        with aws_errors("recording deployment", record.service_key):
            old = client.update_item(**self._last_deployment(record, None), ReturnValues="ALL_OLD")
        before = from_item(old.get("Attributes", {}))
        # Our own deployment id already there: the transaction applied and its answer was lost, so the lock went
        # with it after all.
        return Recorded(released=release and before.get("deployment_id") == record.deployment_id)

    def _confirm(self, record: DeploymentRecord, owner: str) -> dict[str, Any]:
        e = Expr()
        update = e.update({"state": "deployed", "deployment_id": record.deployment_id}, ("lease_until",))
        return e.params(
            TableName=self.table,
            Key=key_of(claim_pk(record.service_key, record.image.digest or "")),
            UpdateExpression=update,
            ConditionExpression=f"{e.name('owner')} = {e.value(owner)}",
        )

    def _supersede(self, deployment_id: str, record: DeploymentRecord) -> dict[str, Any]:
        """Return the UpdateItem that judges deployment `deployment_id` SUPERSEDED by `record`'s, if still open."""
        e, update, condition = _judging(SUPERSEDED, *_superseding(record))
        return e.params(
            TableName=self.table,
            Key=key_of(deployment_pk(deployment_id)),
            UpdateExpression=update,
            ConditionExpression=condition,
        )

    def _last_deployment(self, record: DeploymentRecord, owner: str | None) -> dict[str, Any]:
        """Return the UpdateItem of the service's last deployment; with `owner`, releasing its lock if it holds it."""
        sets = {
            "deployment_id": record.deployment_id,
            "state": "STARTED",
            "started_at": record.started_at,
            "expires_at": int(record.started_at) + RECORD_TTL_SECONDS,
            "digest": record.image.digest,
            "tag": record.image.tag,
            "repository": record.image.repository,
        }
        # Deploying a digest again (a new push, or by hand) takes it off the service's failed list.
        deletes = {"failed_digests": frozenset({record.image.digest})} if record.image.digest else None
        e = Expr()
        removes = ("finished_at", "lease_owner", "lease_until") if owner is not None else ("finished_at",)
        params = {"TableName": self.table, "Key": key_of(service_pk(record.service_key))}
        params["UpdateExpression"] = e.update(sets, removes, deletes=deletes)
        if owner is not None:
            params["ConditionExpression"] = f"{e.name('lease_owner')} = {e.value(owner)}"
        return e.params(**params)

    def progress(self, deployment_id: str) -> bool:
        """Move a record from STARTED to IN_PROGRESS; return False when it had moved on already."""
        return self._update_if(
            "recording deployment progress",
            deployment_id,
            deployment_pk(deployment_id),
            "state",
            "STARTED",
            sets={"state": "IN_PROGRESS"},
        )

    def finish(
        self,
        deployment_id: str,
        state: str,
        reason: str,
        now: float,
        extra: Mapping[str, Any] | None = None,
        *,
        service: bool = True,
    ) -> DeploymentRecord | None:
        """Judge an open record once: return it updated, or None when it was judged before.

        The service's item follows (`service`): its state, and a FAILED or timed-out digest joins its failed list,
        which reconcile does not redeploy.
        """
        from ecr_autodeploy.core.records import DeploymentRecord

        e, update, condition = _judging(state, reason, now, extra)
        after = self._updated("judging deployment", deployment_id, deployment_pk(deployment_id), e, update, condition)
        if after is None:
            return None
        record = DeploymentRecord.from_item(after)
        if service and record.service_key:
            digest = record.image.digest
            failed = frozenset({digest}) if state in ("FAILED", "TIMEOUT") and digest else None
            self._update_if(
                "recording deployment state",
                record.service_key,
                service_pk(record.service_key),
                "deployment_id",
                deployment_id,
                sets={"state": state, "finished_at": now},
                adds={"failed_digests": failed} if failed else None,
            )
        return record

    def note(self, deployment_id: str, values: Mapping[str, Any]) -> None:
        """Add attributes to a deployment record (what a rollback did)."""
        present = {k: v for k, v in values.items() if v is not None}
        if not present:
            return
        e = Expr()
        update = e.update(present)
        with aws_errors("recording rollback", deployment_id):
            self._client().update_item(
                **e.params(TableName=self.table, Key=key_of(deployment_pk(deployment_id)), UpdateExpression=update)
            )

    def first_notice(self, key: str, digest: str, now: float) -> bool:
        """Return True the first time within a day that a drift of (service, digest) is noticed."""
        e = Expr()
        pk, expires = e.name("pk"), e.name("expires_at")
        # TTL deletion lags by up to two days: an expired notice counts as absent.
        condition = f"attribute_not_exists({pk}) OR {expires} < {e.value(int(now))}"
        item = {"pk": drift_pk(key, digest), "noticed_at": now, "expires_at": int(now) + DRIFT_NOTICE_TTL_SECONDS}
        stopped = self._conditional(
            "recording drift notice",
            f"{key}@{digest}",
            lambda c: c.put_item(**e.params(TableName=self.table, Item=to_item(item), ConditionExpression=condition)),
            None,
        )
        return stopped is None


def _token(*parts: str) -> str:
    """Return a transaction's client request token: the same for a retry of the same write (36 characters)."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:36]


SUPERSEDED = "SUPERSEDED"


def _judging(state: str, reason: str, now: float, extra: Mapping[str, Any] | None) -> tuple[Expr, str, str]:
    """Return the expression, update and condition that judge an open deployment record once."""
    e = Expr()
    update = e.update({**(extra or {}), "state": state, "reason": reason, "finished_at": now})
    condition = f"{e.name('state')} IN ({', '.join(e.value(s) for s in OPEN_STATES)})"
    return e, update, condition


def _superseding(record: DeploymentRecord) -> tuple[str, float, dict[str, Any]]:
    """Return the reason, time and attributes with which `record`'s deployment supersedes the one before."""
    return (
        f"superseded by deployment {record.deployment_id}",
        record.started_at,
        {"superseded_by": record.deployment_id},
    )
