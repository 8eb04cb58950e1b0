"""Reliability tests: moto in-process, fixed seeds; the hypothesis profiles (ci, dev) are in tests/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from tests.functional.world import World


@pytest.fixture
def world() -> Iterator[World]:
    with mock_aws():
        yield World()
