"""AWS Lambda entry point: ``ecr_autodeploy.handler.handler``.

Wiring happens on the first call, not at import, so a cold start pays only for what it uses. Errors are not
swallowed: a malformed event or a failed target raises, Lambda retries, then the event lands in the DLQ.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from ecr_autodeploy.core.errors import AutodeployError

logger = logging.getLogger("ecr_autodeploy")
logger.setLevel(logging.INFO)
_deployer: Any = None


def handler(event: object, context: object) -> dict[str, Any]:
    """Return the JSON-ready result of one event; raise AutodeployError so Lambda retries and dead-letters."""
    global _deployer
    if _deployer is None:
        from ecr_autodeploy.aws.clients import Clients
        from ecr_autodeploy.wiring import build_deployer, load_config

        _deployer = build_deployer(load_config(), Clients())
    try:
        result: dict[str, Any] = _deployer.handle(event).to_dict()
    except AutodeployError as err:
        logger.error(json.dumps({"error": type(err).__name__, "message": str(err)}))
        raise
    return result
