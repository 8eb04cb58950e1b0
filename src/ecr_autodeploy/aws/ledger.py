"""DynamoDB adapter of the deploy ledger: conditional writes that make deploys once-only and serialised per service.

Every decision is a single conditional write, which DynamoDB applies atomically: the lock (``svc#``) is taken
when it is free or its lease has passed, and released by its holder only (with the deployment's record, when there
is one: the same item); a claim (``claim#``) is written only when absent, or when its claimer died before deploying
(state ``claimed`` and lease passed); a deployment record leaves STARTED/IN_PROGRESS once.
Item layout: core/ledger_items.py. Every attribute name goes through ExpressionAttributeNames (``state``, ``owner``,
``region`` ... are DynamoDB reserved words).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.aws.dynamodb_items import Expr, from_item, key_of, number, text, to_item
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.ledger_items import (
    CLAIM_TTL_SECONDS,
    DRIFT_NOTICE_TTL_SECONDS,
    OPEN_STATES,
    RECORD_TTL_SECONDS,
    Claim,
    Lock,
    Recorded,
    claim_pk,
    deployment_pk,
    drift_pk,
    service_pk,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ecr_autodeploy.core.records import DeploymentRecord, ServiceItem

CONDITION_FAILED = "ConditionalCheckFailedException"
BATCH_GET_LIMIT = 100  # BatchGetItem takes at most 100 keys per call


class Ledger:
    """The ledger table (in the function's region unless told otherwise)."""

    def __init__(self, clients: Clients, table: str, region: str | None = None) -> None:
        self._clients = clients
        self.table = table
        self._region = region

    def _client(self) -> DynamoDBClient:
        client: DynamoDBClient = self._clients.client("dynamodb", self._region)
        return client

    # ---- per-service lock ---------------------------------------------------------------------------------

    def lock(self, key: str, owner: str, now: float, lease: float) -> Lock:
        """Take the service's lock for `lease` seconds; when another holds it, return who and until when."""
        e = Expr()
        update = e.update(
            {"lease_owner": owner, "lease_until": now + lease, "expires_at": int(now) + RECORD_TTL_SECONDS}
        )
        until = e.name("lease_until")
        # Our own lease counts as free: a retry after a lost reply to this very write must not lock us out.
        condition = (
            f"attribute_not_exists({until}) OR {until} < {e.value(now)} OR {e.name('lease_owner')} = {e.value(owner)}"
        )
        stopped = self._conditional(
            "locking service",
            key,
            lambda c: c.update_item(
                **e.params(
                    TableName=self.table,
                    Key=key_of(service_pk(key)),
                    UpdateExpression=update,
                    ConditionExpression=condition,
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
            ),
            service_pk(key),
        )
        if stopped is None:
            return Lock(True, owner, now + lease)
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
        self, key: str, digest: str, event_id: str, owner: str, now: float, lease: float, *, overwrite: bool = False
    ) -> Claim:
        """Claim (service, digest); return the claim that was there first when another won (unless `overwrite`)."""
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
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": to_item(item)}
        if not overwrite:
            pk, state, until = e.name("pk"), e.name("state"), e.name("lease_until")
            # Ours already (a retry after a lost reply) counts as won.
            mine = f"({state} = {e.value('claimed')} AND {e.name('owner')} = {e.value(owner)})"
            kwargs["ConditionExpression"] = (
                f"attribute_not_exists({pk}) OR ({state} = {e.value('claimed')} AND {until} < {e.value(now)}) OR {mine}"
            )
            kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        stopped = self._conditional(
            "claiming image for service",
            f"{key}@{digest}",
            lambda c: c.put_item(**e.params(**kwargs)),
            claim_pk(key, digest),
        )
        if stopped is None:
            return Claim(True, "claimed", event_id, None, now, now + lease)
        return Claim(
            False,
            text(stopped.get("state")),
            text(stopped.get("event_id")),
            text(stopped.get("deployment_id")),
            number(stopped.get("claimed_at")),
            number(stopped.get("lease_until")),
        )

    def read_claim(self, key: str, digest: str) -> Claim | None:
        """Return the claim of (service, digest) as it stands, without writing (a dry run asks this)."""
        with aws_errors("reading claim", f"{key}@{digest}"):
            found = (
                self._client()
                .get_item(TableName=self.table, Key=key_of(claim_pk(key, digest)), ConsistentRead=True)
                .get("Item")
            )
        if not found:
            return None
        item = from_item(found)
        return Claim(
            False,
            text(item.get("state")),
            text(item.get("event_id")),
            text(item.get("deployment_id")),
            number(item.get("claimed_at")),
            number(item.get("lease_until")),
        )

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

    def started(self, record: DeploymentRecord, owner: str, *, claimed: bool, release: bool = False) -> Recorded:
        """Record a deployment we started, confirm its claim and, with `release`, free the service's lock.

        Return the open deployment it superseded, if any, and whether the lock was freed here; raise AwsError.
        Three writes, in this order (a failure stops the rest; the deploy outcome stands):

        1. PutItem ``dep#``: what we started, so its ECS events are recognised and judged;
        2. UpdateItem ``claim#`` (only when claimed; if `owner` still holds the claim): ``claimed`` -> ``deployed``
           with the deployment id, so a redelivery is a ``duplicate`` and the claim never lapses to a retry;
        3. UpdateItem ``svc#``: the service's last deployment and, with `release`, the lock's release in the same
           write, if `owner` still holds it. The old item names the previous deployment, judged SUPERSEDED if open.
        """
        client = self._client()
        now = record.started_at
        item = {
            "pk": deployment_pk(record.deployment_id),
            **record.to_item(),
            "expires_at": int(now) + RECORD_TTL_SECONDS,
        }
        with aws_errors("recording deployment", record.deployment_id):
            client.put_item(TableName=self.table, Item=to_item(item))
        if claimed and record.image.digest:
            self._update_if(
                "confirming claim",
                f"{record.service_key}@{record.image.digest}",
                claim_pk(record.service_key, record.image.digest),
                "owner",
                owner,
                sets={"state": "deployed", "deployment_id": record.deployment_id},
                removes=("lease_until",),
            )
        old, released = self._last_deployment(record, owner if release else None)
        previous = text(old.get("deployment_id"))
        if previous is None or previous == record.deployment_id:
            return Recorded(None, released)
        superseded = self.finish(
            previous,
            "SUPERSEDED",
            f"superseded by deployment {record.deployment_id}",
            now,
            {"superseded_by": record.deployment_id},
            service=False,
        )
        return Recorded(previous if superseded is not None else None, released)

    def _last_deployment(self, record: DeploymentRecord, owner: str | None) -> tuple[dict[str, Any], bool]:
        """Write the service's last deployment; return its old attributes and whether `owner`'s lock went with it.

        The record itself is unconditional (a deployment that started is recorded even when our lease has passed),
        so when the lock is no longer `owner`'s the release is dropped and the record written on its own. The old
        item comes back whole (ALL_OLD): UPDATED_OLD may leave out an attribute set to the value it had.
        """
        sets = {
            "deployment_id": record.deployment_id,
            "state": "STARTED",
            "started_at": record.started_at,
            "expires_at": int(record.started_at) + RECORD_TTL_SECONDS,
            "digest": record.image.digest,
            "tag": record.image.tag,
            "repository": record.image.repository,
        }
        # Deploying a digest again (a new push, or by hand) takes it off the failed list.
        deletes = {"failed_digests": frozenset({record.image.digest})} if record.image.digest else None
        if owner is not None:
            e = Expr()
            update = e.update(sets, ("finished_at", "lease_owner", "lease_until"), deletes=deletes)
            condition = f"{e.name('lease_owner')} = {e.value(owner)}"
            answer: dict[str, Any] = {}
            stopped = self._conditional(
                "recording deployment",
                record.service_key,
                lambda c: answer.update(
                    c.update_item(
                        **e.params(
                            TableName=self.table,
                            Key=key_of(service_pk(record.service_key)),
                            UpdateExpression=update,
                            ConditionExpression=condition,
                            ReturnValues="ALL_OLD",
                        )
                    )
                ),
                None,
            )
            if stopped is None:
                return from_item(answer.get("Attributes", {})), True
        e = Expr()
        update = e.update(sets, ("finished_at",), deletes=deletes)
        with aws_errors("recording deployment", record.service_key):
            old = self._client().update_item(
                **e.params(
                    TableName=self.table,
                    Key=key_of(service_pk(record.service_key)),
                    UpdateExpression=update,
                    ReturnValues="ALL_OLD",
                )
            )
        before = from_item(old.get("Attributes", {}))
        # Our own deployment id already there: the conditional write applied and its answer was lost (botocore's
        # retry then failed the condition), so the lock went with it after all.
        return before, owner is not None and before.get("deployment_id") == record.deployment_id

    def deployment(self, deployment_id: str) -> DeploymentRecord | None:
        """Return the record of a deployment we started, or None."""
        with aws_errors("reading deployment record", deployment_id):
            found = self._client().get_item(
                TableName=self.table, Key=key_of(deployment_pk(deployment_id)), ConsistentRead=True
            )
        item = found.get("Item")
        if not item:
            return None
        from ecr_autodeploy.core.records import DeploymentRecord

        return DeploymentRecord.from_item(from_item(item))

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

        e = Expr()
        update = e.update({**(extra or {}), "state": state, "reason": reason, "finished_at": now})
        state_name = e.name("state")
        condition = f"{state_name} IN ({', '.join(e.value(s) for s in OPEN_STATES)})"
        answer: dict[str, Any] = {}
        stopped = self._conditional(
            "judging deployment",
            deployment_id,
            lambda c: answer.update(
                c.update_item(
                    **e.params(
                        TableName=self.table,
                        Key=key_of(deployment_pk(deployment_id)),
                        UpdateExpression=update,
                        ConditionExpression=condition,
                        ReturnValues="ALL_NEW",
                    )
                )
            ),
            None,
        )
        if stopped is not None:
            return None
        record = DeploymentRecord.from_item(from_item(answer.get("Attributes", {})))
        if service and record.service_key:
            failed = (
                frozenset({record.image.digest}) if state in ("FAILED", "TIMEOUT") and record.image.digest else None
            )
            self._service_state(record.service_key, deployment_id, state, now, failed)
        return record

    def _service_state(
        self, key: str, deployment_id: str, state: str, now: float, failed: frozenset[str] | None
    ) -> None:
        self._update_if(
            "recording deployment state",
            key,
            service_pk(key),
            "deployment_id",
            deployment_id,
            sets={"state": state, "finished_at": now},
            adds={"failed_digests": failed} if failed else None,
        )

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

    def services(self, keys: Iterable[str]) -> dict[str, ServiceItem]:
        """Return the per-service items of these services (missing ones left out), 100 keys per call."""
        from ecr_autodeploy.core.records import ServiceItem

        wanted = list(dict.fromkeys(keys))
        result: dict[str, ServiceItem] = {}
        client = self._client()
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            batch = wanted[start : start + BATCH_GET_LIMIT]
            request: dict[str, Any] = {self.table: {"Keys": [key_of(service_pk(k)) for k in batch]}}
            while request:
                with aws_errors("reading service records", self.table):
                    found = client.batch_get_item(RequestItems=request)
                for item in found.get("Responses", {}).get(self.table, []):
                    plain = from_item(item)
                    key = str(plain["pk"]).removeprefix("svc#")
                    result[key] = ServiceItem.from_item(key, plain)
                request = dict(found.get("UnprocessedKeys") or {})
        return result

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

    # ---- plumbing -------------------------------------------------------------------------------------------

    def _update_if(
        self,
        step: str,
        resource: str,
        pk: str,
        attribute: str,
        expected: str,
        *,
        sets: Mapping[str, Any] | None = None,
        removes: Sequence[str] = (),
        adds: Mapping[str, frozenset[str]] | None = None,
    ) -> bool:
        """Apply an update only while `attribute` equals `expected`; return whether it applied."""
        e = Expr()
        update = e.update(sets or {}, removes, adds=adds)
        condition = f"{e.name(attribute)} = {e.value(expected)}"
        stopped = self._conditional(
            step,
            resource,
            lambda c: c.update_item(
                **e.params(TableName=self.table, Key=key_of(pk), UpdateExpression=update, ConditionExpression=condition)
            ),
            None,
        )
        return stopped is None

    def _conditional(
        self, step: str, resource: str, call: Callable[[DynamoDBClient], object], read_back: str | None
    ) -> dict[str, Any] | None:
        """Run a conditional write; return None when applied, else the item that stopped it ({} when unknown)."""
        client = self._client()
        try:
            call(client)
        except ClientError as err:
            error = err.response.get("Error", {})
            code = str(error.get("Code", "Unknown"))
            if code != CONDITION_FAILED:
                raise AwsError(step, code, str(error.get("Message", err)), resource=resource) from err
            item: Any = err.response.get("Item")
            if item is None and read_back is not None:
                with aws_errors(step, resource):
                    item = client.get_item(TableName=self.table, Key=key_of(read_back), ConsistentRead=True).get("Item")
            return from_item(item or {})
        except BotoCoreError as err:
            raise AwsError(step, type(err).__name__, str(err), resource=resource) from err
        return None

    def deployments(self, ids: Iterable[str]) -> dict[str, DeploymentRecord]:
        """Return the records of these deployments (missing ones left out), 100 keys per call; raise AwsError."""
        from ecr_autodeploy.core.records import DeploymentRecord

        wanted = list(dict.fromkeys(ids))
        result: dict[str, DeploymentRecord] = {}
        client = self._client()
        rounds = 10  # BatchGetItem answers throttled keys as UnprocessedKeys: ask again, a bounded number of times
        for start in range(0, len(wanted), BATCH_GET_LIMIT):
            keys = [key_of(deployment_pk(d)) for d in wanted[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for _ in range(rounds):
                with aws_errors("reading deployment records", self.table):
                    found = client.batch_get_item(RequestItems=request)
                for item in found.get("Responses", {}).get(self.table, []):
                    record = DeploymentRecord.from_item(from_item(item))
                    result[record.deployment_id] = record
                request = dict(found.get("UnprocessedKeys") or {})
                if not request:
                    break
            else:
                left = len(request.get(self.table, {}).get("Keys", []))
                raise AwsError(
                    "reading deployment records",
                    "UnprocessedKeys",
                    f"{left} keys still unprocessed after {rounds} tries",
                    resource=self.table,
                )
        return result
