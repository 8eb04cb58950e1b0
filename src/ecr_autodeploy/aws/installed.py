"""What the CLI reads of an installation before it uses it: whether its ledger table exists."""

from __future__ import annotations

from botocore.exceptions import ClientError

from ecr_autodeploy.aws.clients import Clients, aws_errors

TABLE_GONE = frozenset({"ResourceNotFoundException"})


def ledger_table(clients: Clients, table: str) -> bool:
    """Return True when the ledger table exists (DescribeTable); raise AwsError when it cannot be read."""
    client = clients.client("dynamodb")
    with aws_errors("finding the ledger", table):
        try:
            client.describe_table(TableName=table)
        except ClientError as err:
            if str(err.response.get("Error", {}).get("Code")) in TABLE_GONE:
                return False
            raise
    return True
