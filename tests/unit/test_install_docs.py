"""docs/install.md lists every statement of every policy kind, each in its own kind's table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ecr_autodeploy.core.iam import TaskAccess, policies
from tests.unit.iam_configs import ACCESS, CONFIGS, STACK

DOCS = (Path(__file__).parents[2] / "docs" / "install.md").read_text(encoding="utf-8")
SECTIONS = {
    "execution": "### The function's role",
    "installer": "### Running install",
    "console": "### Creating the rules in the console",
}


def documented(kind: str) -> set[str]:
    """Return the statement names in the first column of the table under the kind's heading."""
    section = DOCS.split(SECTIONS[kind], 1)[1].split("\n### ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith(("| statement", "|---")):
            first = line.split("|")[1].strip()
            names.update(re.sub(r"\s*\(Deny\)$", "", part).strip() for part in first.split(" / "))
    return names


@pytest.mark.parametrize("kind", list(SECTIONS))
def test_every_statement_is_documented(kind: str) -> None:
    sids = {
        statement["Sid"]
        for config in CONFIGS.values()
        for access in (ACCESS, TaskAccess.unknown())
        for statement in policies(config, STACK, access)[kind]["Statement"]
    }
    assert sids == documented(kind)
