"""TransactWriteItems on the emulator in time proportional to the transaction, not to the table.

moto backs up every table a transaction names with a deep copy before applying it, to restore on failure: each
transaction costs time proportional to the whole table, so the ledger of a few thousand services (a lock, a
claim and a record each) made a 5,000-service fan-out take hours on the emulator. The patch keeps moto's
transaction logic and backs up only the items the transaction writes, each restored (or removed) when it fails.
DynamoDB applies a transaction all or nothing either way.
https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any


def patch() -> Callable[[], None]:
    """Patch moto's TransactWriteItems as the module docstring says; return the undo."""
    from moto.dynamodb import models as moto_models
    from moto.dynamodb.models.table import Table

    models: Any = moto_models
    backend = models.DynamoDBBackend
    original = backend.transact_write_items
    real_copy = models.copy

    class _TablesKept:
        """moto's ``copy`` for the transaction's backup: a table is kept as it is (its items are saved one by one)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(real_copy, name)

        @staticmethod
        def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
            return value if isinstance(value, Table) else real_copy.deepcopy(value, memo)

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
        undo = [_saved(self.tables, item) for item in transact_items]
        try:
            return original(self, transact_items)
        except Exception:
            for restore in reversed(undo):
                restore()
            raise

    backend.transact_write_items = transact_write_items
    models.copy = _TablesKept()

    def unpatch() -> None:
        backend.transact_write_items = original
        models.copy = real_copy

    return unpatch


def _saved(tables: Mapping[str, Any], item: Mapping[str, Any]) -> Callable[[], None]:
    """Return what puts back the one item a transaction operation writes, as it is now (or removes it)."""
    from moto.dynamodb.models.dynamo_type import DynamoType

    if len(item) != 1:
        return _nothing  # moto refuses it before writing anything
    ((kind, op),) = item.items()
    table = tables.get(op.get("TableName", ""))
    key = op.get("Item") if kind == "Put" else op.get("Key")
    if table is None or not isinstance(key, Mapping) or table.hash_key_attr not in key:
        return _nothing
    hash_value = DynamoType(key[table.hash_key_attr])
    range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr in key else None
    if table.has_range_key and range_value is None:
        return _nothing
    before = copy.deepcopy(table.get_item(hash_value, range_value))

    def restore() -> None:
        bucket = table.items[hash_value] if range_value is not None else table.items
        slot = range_value if range_value is not None else hash_value
        if before is None:
            bucket.pop(slot, None)
        else:
            bucket[slot] = before

    return restore


def _nothing() -> None:
    return None
