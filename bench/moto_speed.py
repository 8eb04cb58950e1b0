"""A faster backup for moto's TransactWriteItems, for the scale benchmarks only.

moto backs up every table a transaction touches with a deep copy of the whole table before applying it, so each
transaction costs O(table) on the emulator and a 5,000-service fan-out (two transactions a service, a ledger of
15,000 items) becomes quadratic: the emulator, not the function, would be measured. DynamoDB itself costs the same
per transaction at any table size. This backup copies the table shallowly and deep-copies only the items the
transaction names, which is all a rollback restores. It is installed in the benchmark's server process only.
"""

from __future__ import annotations

import copy
import types
from typing import Any

_touched: list[dict[str, Any]] = []  # the items of the transaction being applied (the server answers one at a time)


def _backup(table: Any, memo: Any = None) -> Any:
    from moto.dynamodb.models.dynamo_type import DynamoType
    from moto.dynamodb.models.table import Table

    if not isinstance(table, Table):
        return copy.deepcopy(table, memo)  # moto's other deep copies (an item before an update) stay as they are
    clone = copy.copy(table)
    clone.items = copy.copy(table.items)
    for item in _touched:
        _, op = next(iter(item.items()))
        if op.get("TableName") != table.name:
            continue
        key = op.get("Key") or {table.hash_key_attr: op["Item"][table.hash_key_attr]}
        hash_value = DynamoType(key[table.hash_key_attr])
        if hash_value in table.items:
            clone.items[hash_value] = copy.deepcopy(table.items[hash_value])
    return clone


def install() -> None:
    """Replace moto's whole-table backup in TransactWriteItems with the light one."""
    import moto.dynamodb.models as models

    original = models.DynamoDBBackend.transact_write_items
    models.copy = types.SimpleNamespace(deepcopy=_backup)  # type: ignore[assignment,attr-defined]

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        _touched[:] = transact_items
        try:
            original(self, transact_items)
        finally:
            _touched.clear()

    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
