"""Functional tests run against moto's in-process AWS (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from tests.functional.cli_runs import write_shop_rules
from tests.functional.world import World


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A rules file with SHOP_RULES (tests/functional/cli_runs.py); a module may define its own."""
    return write_shop_rules(tmp_path / "rules.json")
