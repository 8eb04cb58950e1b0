"""TransactWriteItems on the emulator backs up only the items it writes, and is still all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from ecr_autodeploy.local import dynamodb_transactions
from tests.functional.rollouts import ledger_table

TABLE = "ledger"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        ledger_table(TABLE)
        client.put_item(TableName=TABLE, Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
        undo = dynamodb_transactions.patch()
        try:
            yield client
        finally:
            undo()


def _items(client: Any) -> dict[str, dict[str, Any]]:
    return {i["pk"]["S"]: i for i in client.scan(TableName=TABLE)["Items"]}


def test_a_transaction_that_fails_leaves_every_item_as_it_was(dynamodb: Any) -> None:
    before = _items(dynamodb)
    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "new"}}}},
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "kept"}},
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {
                    "ConditionCheck": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "missing"}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                },
            ]
        )
    assert _items(dynamodb) == before


def test_a_transaction_that_succeeds_writes_every_item(dynamodb: Any) -> None:
    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": TABLE, "Item": {"pk": {"S": "new"}}}},
            {
                "Delete": {
                    "TableName": TABLE,
                    "Key": {"pk": {"S": "kept"}},
                    "ConditionExpression": "n = :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            },
        ]
    )
    assert set(_items(dynamodb)) == {"new"}


def test_undo_gives_moto_its_own_transactions_back() -> None:
    from moto.dynamodb import models as moto_models

    models: Any = moto_models
    before = (models.DynamoDBBackend.transact_write_items, models.copy)
    dynamodb_transactions.patch()()
    assert (models.DynamoDBBackend.transact_write_items, models.copy) == before
