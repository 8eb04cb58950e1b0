"""Rules documents for the configuration tests: the issue's example, and minimal valid rules and targets."""

from __future__ import annotations

from typing import Any

import pytest

from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import ConfigError

ISSUE_EXAMPLE = """\
rules:
  - repository: shop/api                 # exact
    tags: ["v*", "release-*"]
    exclude_tags: ["*-rc*"]
    strategy: pin
    targets:
      - cluster: shop
        service: "{repository}-svc"
        containers: [api]
        region: us-east-1
        role_arn: arn:aws:iam::111122223333:role/deployer
  - repository: "re:^shop/(?P<service>[^/]+)$"
    untagged: false
    strategy: force
    allow_downgrade: true
    rollback: true
    targets:
      - cluster: shop
        service: "{service}"
      - cluster: shop-eu
        service: "{service}"
        region: eu-west-1
notify:
  sns_topic_arn: arn:aws:sns:us-east-1:123456789012:deploys
  on: [failed, drift]
"""


def rule(**overrides: Any) -> dict[str, Any]:
    """Return a minimal valid rule with `overrides` applied (None removes a key)."""
    base: dict[str, Any] = {"repository": "shop/api", "targets": [{"cluster": "shop", "service": "api"}]}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def target(**overrides: Any) -> dict[str, Any]:
    """Return a minimal valid target with `overrides` applied (None removes a key)."""
    base: dict[str, Any] = {"cluster": "shop", "service": "api"}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def error_of(data: object, source: str = "rules.yaml") -> str:
    with pytest.raises(ConfigError) as caught:
        parse_config(data, source)
    return str(caught.value)
