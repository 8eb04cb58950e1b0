"""The ledger's DynamoDB table: its client, the reads, and the conditional-write plumbing the writes share.

Reads are consistent where a decision depends on them. Batches take at most 100 keys (BatchGetItem's limit);
throttled keys come back as UnprocessedKeys and are asked for again a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.aws.dynamodb_items import Expr, from_item, key_of, number, text
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.ledger_items import claim_pk, deployment_pk, service_pk
from ecr_autodeploy.core.records import Claim

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

    from ecr_autodeploy.core.records import DeploymentRecord, ServiceItem

CONDITION_FAILED = "ConditionalCheckFailedException"
BATCH_GET_LIMIT = 100  # BatchGetItem takes at most 100 keys per call
BATCH_ROUNDS = 10  # times to ask again for throttled keys


class LedgerTable:
    """The ledger table (in the function's region unless told otherwise): reads and write plumbing."""

    def __init__(self, clients: Clients, table: str, region: str | None = None) -> None:
        self._clients = clients
        self.table = table
        self._region = region

    def _client(self) -> DynamoDBClient:
        client: DynamoDBClient = self._clients.client("dynamodb", self._region)
        return client

    # ---- reads ----------------------------------------------------------------------------------------------

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

    def deployments(self, ids: Iterable[str]) -> dict[str, DeploymentRecord]:
        """Return the records of these deployments (missing ones left out), 100 keys per call; raise AwsError."""
        from ecr_autodeploy.core.records import DeploymentRecord

        found = self._batch_get("reading deployment records", [deployment_pk(d) for d in dict.fromkeys(ids)])
        records = (DeploymentRecord.from_item(item) for item in found)
        return {record.deployment_id: record for record in records}

    def services(self, keys: Iterable[str]) -> dict[str, ServiceItem]:
        """Return the per-service items of these services (missing ones left out), 100 keys per call."""
        from ecr_autodeploy.core.records import ServiceItem

        found = self._batch_get("reading service records", [service_pk(k) for k in dict.fromkeys(keys)])
        items = ((str(item["pk"]).removeprefix("svc#"), item) for item in found)
        return {key: ServiceItem.from_item(key, item) for key, item in items}

    def read_claim(self, key: str, digest: str) -> Claim | None:
        """Return the claim of (service, digest) as it stands, without writing (a dry run asks this)."""
        with aws_errors("reading claim", f"{key}@{digest}"):
            found = (
                self._client()
                .get_item(TableName=self.table, Key=key_of(claim_pk(key, digest)), ConsistentRead=True)
                .get("Item")
            )
        return claim_from(from_item(found)) if found else None

    def _batch_get(self, step: str, pks: Sequence[str]) -> list[dict[str, Any]]:
        """Return the items with these partition keys (consistently read), as plain values."""
        client = self._client()
        result: list[dict[str, Any]] = []
        for start in range(0, len(pks), BATCH_GET_LIMIT):
            keys = [key_of(pk) for pk in pks[start : start + BATCH_GET_LIMIT]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ConsistentRead": True}}
            for _ in range(BATCH_ROUNDS):
                with aws_errors(step, self.table):
                    found = client.batch_get_item(RequestItems=request)
                result.extend(from_item(item) for item in found.get("Responses", {}).get(self.table, []))
                request = dict(found.get("UnprocessedKeys") or {})
                if not request:
                    break
            else:
                left = len(request.get(self.table, {}).get("Keys", []))
                raise AwsError(
                    step,
                    "UnprocessedKeys",
                    f"{left} keys still unprocessed after {BATCH_ROUNDS} tries",
                    resource=self.table,
                )
        return result

    # ---- write plumbing -------------------------------------------------------------------------------------

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

    def _updated(
        self, step: str, resource: str, pk: str, e: Expr, update: str, condition: str
    ) -> dict[str, Any] | None:
        """Run a conditional UpdateItem; return the item after it (plain values), or None when the condition failed."""
        answer: dict[str, Any] = {}
        stopped = self._conditional(
            step,
            resource,
            lambda c: answer.update(
                c.update_item(
                    **e.params(
                        TableName=self.table,
                        Key=key_of(pk),
                        UpdateExpression=update,
                        ConditionExpression=condition,
                        ReturnValues="ALL_NEW",
                    )
                )
            ),
            None,
        )
        return None if stopped is not None else from_item(answer.get("Attributes") or {})

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

    def _transact(
        self, step: str, resource: str, items: Sequence[Mapping[str, Any]], token: str
    ) -> list[tuple[str, dict[str, Any]]] | None:
        """Run a transaction; return None when applied, else (cancellation code, item that stopped it) per item.

        The client request token makes botocore's retry of a transaction whose reply was lost idempotent.
        """
        try:
            self._client().transact_write_items(TransactItems=list(items), ClientRequestToken=token)  # type: ignore[arg-type]
        except ClientError as err:
            code = str(err.response.get("Error", {}).get("Code", "Unknown"))
            reasons: list[Any] = list(err.response.get("CancellationReasons") or [])
            if code != "TransactionCanceledException" or not reasons:
                raise AwsError(
                    step, code, str(err.response.get("Error", {}).get("Message", err)), resource=resource
                ) from err
            found = [(str(r.get("Code") or "None"), from_item(r.get("Item") or {})) for r in reasons]
            other = [c for c, _ in found if c not in ("None", "ConditionalCheckFailed")]
            if other:
                # Another transaction on the same items (TransactionConflict) or throttling: a retry can fix it.
                raise AwsError(step, other[0], str(err), resource=resource) from err
            return found
        except BotoCoreError as err:
            raise AwsError(step, type(err).__name__, str(err), resource=resource) from err
        return None


def claim_from(item: Mapping[str, Any], won: bool = False) -> Claim:
    """Return the claim a stored claim item tells."""
    return Claim(
        won,
        text(item.get("state")),
        text(item.get("event_id")),
        text(item.get("deployment_id")),
        number(item.get("claimed_at")),
        number(item.get("lease_until")),
    )
