"""What every command shares: global AWS options, lazily made clients, configuration loading."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from ecr_autodeploy.core.config import Config

if TYPE_CHECKING:
    from ecr_autodeploy.aws.clients import Clients
    from ecr_autodeploy.engine.deploy import Deployer
    from ecr_autodeploy.engine.dispatch import Dispatcher


@dataclass
class AppContext:
    """Global options; clients are created on first use so that `validate` and `--help` never touch AWS."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    as_json: bool = False  # set by --json: how the one error handler (cli/main.py) shows a failed deploy
    _clients: Clients | None = field(default=None, repr=False)

    def clients(self) -> Clients:
        """Return the shared client factory."""
        if self._clients is None:
            from ecr_autodeploy.aws.clients import Clients

            self._clients = Clients(region=self.region, profile=self.profile, endpoint_url=self.endpoint_url)
        return self._clients

    def config(self, path: str | None) -> Config:
        """Return the rules from `path`, else from the environment (AUTODEPLOY_CONFIG or the two regexes)."""
        from ecr_autodeploy.wiring import load_config

        return load_config(path)

    def config_or_empty(self) -> Config:
        """Return an empty configuration, for commands that name their targets on the command line."""
        return Config(source="command line", rules=(), seed=None, raw={})

    def deployer(self, config: Config, *, dry_run: bool = False) -> Deployer:
        """Return the deploy engine the Lambda uses, wired to these clients."""
        from ecr_autodeploy.wiring import build_deployer

        return build_deployer(config, self.clients(), dry_run=dry_run)

    def app(self, config: Config, *, dry_run: bool = False) -> Dispatcher:
        """Return every use case the Lambda has, wired to these clients."""
        from ecr_autodeploy.wiring import build_app

        return build_app(config, self.clients(), dry_run=dry_run)


pass_app = click.make_pass_decorator(AppContext)

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Rules file (YAML or JSON). Default: AUTODEPLOY_CONFIG, else ECR_SERVICE_REGEX/ECR_CLUSTER_REGEX.",
)


def _remember_json(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    app = ctx.find_object(AppContext)
    if app is not None:
        app.as_json = value
    return value


json_option = click.option(
    "--json", "as_json", is_flag=True, callback=_remember_json, help="Print JSON on stdout instead of a table."
)
