"""Wire the deploy use case to AWS: configuration from the environment, clients, adapters."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.ecr import Registry
from ecr_autodeploy.aws.ecs import Cluster, state_from
from ecr_autodeploy.core.config import Config, config_from_env, parse_config_text
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.deploy import Deployer


def read_text(path: str) -> str:
    """Return a file's text (the reader handed to the pure config parser)."""
    return Path(path).read_text(encoding="utf-8")


def load_config(path: str | None = None, env: Mapping[str, str] | None = None) -> Config:
    """Return the configuration from a rules file, or else from the environment; raise ConfigError."""
    if path is not None:
        try:
            text = read_text(path)
        except OSError as err:
            raise ConfigError(path, f"cannot read: {err.strerror or err}") from err
        return parse_config_text(text, path)
    return config_from_env(os.environ if env is None else env, read_text)


def build_deployer(config: Config, clients: Clients) -> Deployer:
    """Return a Deployer talking to AWS (or the emulator behind the clients' endpoint_url)."""
    return Deployer(config, Registry(clients), Cluster(clients), state_from)
