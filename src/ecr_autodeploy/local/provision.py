"""Install ecr-autodeploy into the emulator with the real installer: the code `ecr-autodeploy install` runs,
after the administrator's `ecr-autodeploy bootstrap` (the permissions boundary install creates the role in)."""

from __future__ import annotations

from ecr_autodeploy.aws.bootstrap import bootstrap
from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.installer import InstallOptions, InstallReport, install
from ecr_autodeploy.aws.lambda_package import build_package
from ecr_autodeploy.core.values import frozen
from ecr_autodeploy.local.world import World


@frozen
class Installed:
    """What install created that the demo needs: the function, the rules to route to it, the full report."""

    function_name: str
    rule_names: tuple[str, ...]
    report: InstallReport
    package_bytes: int


def install_into(clients: Clients, world: World, options: InstallOptions | None = None) -> Installed:
    """Install into the clients' region (the world's deploy region) from the world's rules; return what it made."""
    options = options or InstallOptions()
    package = build_package()
    bootstrap(clients, world.config, options)
    report = install(clients, world.config, options, package.data)
    return Installed(options.name, report.rule_names, report, package.size)
