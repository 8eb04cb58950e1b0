"""Wire the use cases to AWS: configuration and ledger from the environment, clients, adapters.

AUTODEPLOY_LEDGER_TABLE names the DynamoDB ledger (install sets it on the function). Without it, as in CLI use
without an installation, deploys run without the ledger and every result says so.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecr import Registry
from ecr_autodeploy.aws.ecs import Cluster, state_from
from ecr_autodeploy.core.config import Config, config_from_env, parse_config_text
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.deploy import ClusterPort, Deployer, LedgerPort, NotifierPort
from ecr_autodeploy.dispatch import Dispatcher

if TYPE_CHECKING:
    from ecr_autodeploy.reconcile import Reconciler
    from ecr_autodeploy.track import Tracker

LEDGER_ENV = "AUTODEPLOY_LEDGER_TABLE"


def read_text(path: str) -> str:
    """Return a file's text (the reader handed to the pure config parser); raise ConfigError when it is not UTF-8."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            path, f"not UTF-8 text (byte {err.start}: {err.object[err.start : err.start + 1]!r})"
        ) from err


def load_config(path: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Return the configuration from a rules file, or else from the environment; raise ConfigError."""
    if path is not None:
        try:
            text = read_text(path)
        except OSError as err:
            raise ConfigError(path, f"cannot read: {err.strerror or err}") from err
        config = parse_config_text(text, path)
    else:
        config = config_from_env(os.environ if env is None else env, read_text)
    return config  # the notify: block was parsed with the rest (Config.notify): a bad one fails at load


def build_notifier(config: Config, clients: Clients) -> NotifierPort | None:
    """Return the notifier of the config's ``notify:`` block, or None when it names no channel."""
    settings = config.notify
    if settings is None or not settings.any:
        return None
    from ecr_autodeploy.aws.notify import Notifier  # urllib is imported only by functions that notify

    return Notifier(settings, clients)


def build_deployer(
    config: Config,
    clients: Clients,
    *,
    env: Mapping[str, str] | None = None,
    cluster: ClusterPort | None = None,
    notifier: NotifierPort | None = None,
) -> Deployer:
    """Return a Deployer talking to AWS (or the emulator behind the clients' endpoint_url).

    `cluster` replaces the ECS adapter (the emulator's rollouts), `notifier` the config's notifier (to capture
    messages); `env` defaults to the process environment.
    """
    clients.external_ids.update(config.external_ids)  # cross-account targets assume their roles with these
    table = (os.environ if env is None else env).get(LEDGER_ENV) or None
    ledger: LedgerPort | None = None
    if table:
        from ecr_autodeploy.aws.ledger import Ledger

        ledger = Ledger(clients, table)
    return Deployer(
        config,
        Registry(clients),
        cluster if cluster is not None else Cluster(clients),
        state_from,
        ledger=ledger,
        notifier=notifier if notifier is not None else build_notifier(config, clients),
    )


def build_app(
    config: Config,
    clients: Clients,
    *,
    env: Mapping[str, str] | None = None,
    cluster: ClusterPort | None = None,
    notifier: NotifierPort | None = None,
) -> Dispatcher:
    """Return the dispatcher of every event kind, sharing one Deployer (and its ledger and notifier)."""
    deployer = build_deployer(config, clients, env=env, cluster=cluster, notifier=notifier)
    tracker: list[Tracker] = []

    def build_tracker() -> Tracker:
        # Imported here: an image event, the hot path, needs neither the tracker nor the reconciler.
        from ecr_autodeploy.rollback import Rollback
        from ecr_autodeploy.track import Tracker

        if not tracker:
            rollback = Rollback(deployer.cluster, state_from, deployer.ledger)
            tracker.append(Tracker(deployer.cluster, state_from, deployer.ledger, rollback, deployer.send))
        return tracker[0]

    def build_reconciler() -> Reconciler:
        from ecr_autodeploy.aws.inventory import Inventory
        from ecr_autodeploy.reconcile import Reconciler
        from ecr_autodeploy.survey import Survey

        survey = Survey(config, Inventory(clients), deployer.cluster, state_from, deployer.ledger)
        return Reconciler(deployer, survey, build_tracker())

    return Dispatcher(deployer, build_tracker, build_reconciler, lambda: clients.region)
