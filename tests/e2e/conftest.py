"""The e2e ring runs the real CLI as a subprocess, the way a person would: every test here is `slow`, so
`scripts/check --fast` (the edit loop) leaves the ring out and the full run (CI) takes it."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)
