"""The CLI as the functional tests run it: in-process through click's runner, against moto, with one rules file."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from ecr_autodeploy.cli.main import cli

# One rule: shop/api's v* tags to the shop/api service.
SHOP_RULES = {"rules": [{"repository": "shop/api", "tags": ["v*"], "targets": [{"cluster": "shop", "service": "api"}]}]}


def run(*args: str) -> tuple[int, str, str]:
    """Run the CLI in us-east-1; return (exit code, stdout, stderr)."""
    result = CliRunner().invoke(cli, ["--region", "us-east-1", *args])
    return result.exit_code, result.stdout, result.stderr


def write_shop_rules(path: Path) -> Path:
    """Write SHOP_RULES to `path` (JSON); return it."""
    path.write_text(json.dumps(SHOP_RULES))
    return path
