"""What every command shares: global options (before or after the verb), lazily made clients, rules, the ledger.

Global options are accepted on the group and on every verb (``ecr-autodeploy status --region eu-west-1``); a
value given after the verb wins. Clients are created on first use so that ``validate`` and ``--help`` never
touch AWS. The installation's ledger is found by its name (``--name``, default ``ecr-autodeploy``): the CLI
deduplicates and serialises deploys as the function does, and reads the outcomes the function recorded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import click

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.stack import DEFAULT_NAME

if TYPE_CHECKING:
    from ecr_autodeploy.aws.clients import Clients
    from ecr_autodeploy.aws.ledger import Ledger
    from ecr_autodeploy.aws.pause_book import PauseBook
    from ecr_autodeploy.engine.deploy import Deployer
    from ecr_autodeploy.engine.dispatch import Dispatcher
    from ecr_autodeploy.engine.ports import GateStorePort

F = TypeVar("F", bound=Callable[..., Any])
Output = Literal["table", "json", "yaml"]
NO_LEDGER_WARNING = (
    "--no-ledger: running without the installation's ledger: duplicate deploys are not claimed once, deploys to "
    "one service are not serialised with the function's, and outcomes the function recorded are not seen"
)


@dataclass
class AppContext:
    """Global options and what they make: clients, the installation's ledger."""

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None
    output: Output | None = None  # None: the verb's own default (a table for most)
    debug: bool = False
    name: str = DEFAULT_NAME
    no_ledger: bool = False
    _clients: Clients | None = field(default=None, repr=False)
    _ledger: tuple[Ledger | None] | None = field(default=None, repr=False)

    @property
    def as_json(self) -> bool:
        """Return True when the output is JSON (``--output json`` or ``--json``)."""
        return self.output == "json"

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

    def ledger(self) -> Ledger | None:
        """Return the installation's ledger (None with --no-ledger, after a warning); raise AwsError when absent."""
        if self._ledger is None:
            self._ledger = (self._find_ledger(),)
        return self._ledger[0]

    def _find_ledger(self) -> Ledger | None:
        import os

        from ecr_autodeploy.aws.installed import ledger_table
        from ecr_autodeploy.aws.ledger import Ledger
        from ecr_autodeploy.core.errors import NotFoundError
        from ecr_autodeploy.core.stack import Site, Stack
        from ecr_autodeploy.wiring import LEDGER_ENV

        if self.no_ledger:
            click.echo(f"warning: {NO_LEDGER_WARNING}", err=True)
            return None
        clients = self.clients()
        explicit = os.environ.get(LEDGER_ENV, "").strip()
        # The table's name depends on the installation's name only (the site does not enter it).
        table = explicit or Stack(self.name, Site.of(clients.region, "")).table_name
        if not ledger_table(clients, table):
            where = f"{LEDGER_ENV}={explicit}" if explicit else f"installation {self.name!r}"
            raise NotFoundError(
                "finding the ledger",
                "ResourceNotFoundException",
                f"{where} has no ledger table {table} in {clients.region}: run `ecr-autodeploy install` there, "
                "pass --name NAME for another installation (or --region), or --no-ledger to run without one",
                resource=table,
            )
        return Ledger(clients, table)

    def app(self, config: Config, *, dry_run: bool = False, gate_store: GateStorePort | None = None) -> Dispatcher:
        """Return every use case the Lambda has, wired to these clients and the installation's ledger."""
        from ecr_autodeploy.wiring import build_app

        # env={}: the ledger is the one found here (or none, with --no-ledger), never a stray variable's.
        return build_app(config, self.clients(), env={}, ledger=self.ledger(), dry_run=dry_run, gate_store=gate_store)

    def deployer(self, config: Config, *, dry_run: bool = False, gate_store: GateStorePort | None = None) -> Deployer:
        """Return the deploy engine the Lambda uses, wired like `app`."""
        return self.app(config, dry_run=dry_run, gate_store=gate_store).deployer

    def gate_book(self) -> PauseBook:
        """Return the installation's pauses and approvals (in its ledger); raise ConfigError with --no-ledger."""
        from ecr_autodeploy.aws.pause_book import PauseBook
        from ecr_autodeploy.core.errors import ConfigError

        ledger = self.ledger()
        if ledger is None:
            raise ConfigError("--no-ledger", "pauses and approvals live in the installation's ledger: drop --no-ledger")
        return PauseBook(self.clients(), ledger.table)


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def _setter(attribute: str, convert: Callable[[Any], Any] = lambda v: v) -> Callable[..., Any]:
    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        # A flag not given on this command keeps what the group (or an earlier flag) set.
        if value is None or value is False:
            return value
        app = ctx.ensure_object(AppContext)
        setattr(app, attribute, convert(value))
        return value

    return remember


def _debug(ctx: click.Context, param: click.Parameter, value: bool) -> bool:
    if value:
        from ecr_autodeploy.cli.logs import configure

        ctx.ensure_object(AppContext).debug = True
        configure(True)
    return value


def global_params(*, envvars: bool = False) -> list[click.Parameter]:
    """Return --region, --profile, --endpoint-url, --output/--json and --debug (the group's read the environment)."""
    return [
        click.Option(
            ["--region"],
            envvar="AWS_REGION" if envvars else None,
            expose_value=False,
            callback=_setter("region"),
            help="AWS region (default: AWS_REGION, AWS_DEFAULT_REGION or the profile's).",
        ),
        click.Option(
            ["--profile"],
            envvar="AWS_PROFILE" if envvars else None,
            expose_value=False,
            callback=_setter("profile"),
            help="AWS named profile (default: AWS_PROFILE).",
        ),
        click.Option(
            ["--endpoint-url"],
            expose_value=False,
            callback=_setter("endpoint_url"),
            help="Send every AWS call here (an emulator). Without it AWS_ENDPOINT_URL_<SERVICE>, then "
            "AWS_ENDPOINT_URL apply, as in every AWS SDK.",
        ),
        click.Option(
            ["--output", "-o"],
            type=click.Choice(["table", "json"]),
            expose_value=False,
            callback=_setter("output"),
            help="table (for people, fitted to the terminal) or json (every value, with schema_version).",
        ),
        click.Option(
            ["--json"],
            is_flag=True,
            expose_value=False,
            callback=_setter("output", lambda _: "json"),
            help="Same as --output json.",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            expose_value=False,
            callback=_debug,
            help="Show the JSON decision lines and botocore's detail on stderr (secrets scrubbed).",
        ),
    ]


def installation_options(command: F) -> F:
    """Add --name (the installation whose ledger to use) and --no-ledger."""

    @click.option(
        "--name",
        expose_value=False,
        callback=_setter("name"),
        help=f"The installation whose ledger to use (default: {DEFAULT_NAME}).",
    )
    @click.option(
        "--no-ledger",
        is_flag=True,
        expose_value=False,
        callback=_setter("no_ledger"),
        help="Run without the installation's ledger (not deduplicated or serialised with the function).",
    )
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def image_options(command: F) -> F:
    """Add the options that name one service and the image for it (deploy, diff)."""
    for option in reversed(
        (
            click.option("--cluster", required=True, help="ECS cluster name."),
            click.option("--service", required=True, help="ECS service name."),
            click.option("--image", required=True, help="REPO:TAG or REPO@sha256:DIGEST (a full ECR URI works too)."),
            click.option("--strategy", type=click.Choice(["pin", "force"]), default="pin", show_default=True),
            click.option("--container", "containers", multiple=True, help="Only these containers (repeatable)."),
        )
    ):
        command = option(command)
    return command


config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Rules file (YAML or JSON). Default: AUTODEPLOY_CONFIG, else ECR_SERVICE_REGEX/ECR_CLUSTER_REGEX.",
)
