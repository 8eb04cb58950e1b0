"""Rules beyond Lambda's 4 KB of environment: install ships them inside the package and the function reads them."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import boto3
import pytest

from ecr_autodeploy.aws.bootstrap import bootstrap
from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.installer import InstallOptions, install
from ecr_autodeploy.core.config import ENV_CONFIG, parse_config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.installation import RULES_FILE, environment, rules_json
from ecr_autodeploy.core.stack import Site, Stack
from ecr_autodeploy.wiring import load_config
from tests.functional.installs import NAME, PACKAGE, REGION
from tests.functional.world import World


def many_targets(count: int) -> dict[str, Any]:
    """Return rules with `count` explicit targets (the shape that outgrew the environment variable)."""
    return {
        "rules": [
            {
                "repository": f"shop/service-{i:03d}",
                "tags": ["semver:>=1.0.0"],
                "targets": [{"cluster": "production-cluster", "service": f"service-{i:03d}"}],
            }
            for i in range(count)
        ]
    }


def test_eighty_targets_do_not_fit_in_the_environment() -> None:
    config = parse_config(many_targets(80), "rules.yaml")
    with pytest.raises(ConfigError, match="4096"):
        environment(config, Stack(NAME, Site.of(REGION, "123456789012")))


def test_install_ships_eighty_targets_in_the_package_and_the_function_reads_them(world: World, tmp_path: Path) -> None:
    config = parse_config(many_targets(80), "rules.yaml")
    clients = Clients(region=REGION)
    bootstrap(clients, config, InstallOptions())
    report = install(clients, config, InstallOptions(), PACKAGE)

    assert RULES_FILE in report.rules_location
    lam = boto3.client("lambda", REGION)
    variables = lam.get_function_configuration(FunctionName=NAME)["Environment"]["Variables"]
    assert variables[ENV_CONFIG] == RULES_FILE
    assert sum(len(k) + len(v) for k, v in variables.items()) < 200
    from moto.backends import get_backend

    code = get_backend("lambda")["123456789012"][REGION].get_function(NAME).code_bytes
    with zipfile.ZipFile(io.BytesIO(code)) as archive:
        assert archive.read(RULES_FILE).decode() == rules_json(config)
        assert "ecr_autodeploy/handler.py" in archive.namelist()
        archive.extractall(tmp_path)
    # What the handler does at cold start on Lambda: the package is unpacked at LAMBDA_TASK_ROOT.
    loaded = load_config(env={**variables, "LAMBDA_TASK_ROOT": str(tmp_path)})
    assert sum(len(r.targets) for r in loaded.rules) == 80


def test_the_package_with_its_rules_is_deterministic(world: World) -> None:
    from ecr_autodeploy.aws.lambda_package import with_rules

    rules = rules_json(parse_config(many_targets(3), "rules.yaml"))
    once = with_rules(PACKAGE, rules, RULES_FILE)
    assert with_rules(once, rules, RULES_FILE) == once  # replacing the rules file gives the same bytes
    assert with_rules(PACKAGE, rules, RULES_FILE) == once
