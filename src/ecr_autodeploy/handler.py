"""AWS Lambda entry point: ``ecr_autodeploy.handler.handler``.

One function receives ECR image events, ECS deployment state changes and the reconcile schedule. Wiring happens
on the first call, not at import, so a cold start pays only for what it uses (under SnapStart: during init, so
the snapshot holds it). Errors are not swallowed: a malformed event or a failed target raises, Lambda retries,
then the event lands in the DLQ.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from typing import Any

from ecr_autodeploy.core.errors import AutodeployError

logger = logging.getLogger("ecr_autodeploy")
logger.setLevel(logging.INFO)
_app: Any = None  # the wired Dispatcher (module-level: a warm container keeps it between invocations)
# Lambda SnapStart runs the init phase once, then snapshots it; wiring during init puts boto3 in the snapshot.
_INIT_TYPE = "AWS_LAMBDA_INITIALIZATION_TYPE"
_SNAP_START = "snap-start"
_SNAPSHOT_CLIENTS = ("ecs", "ecr", "dynamodb")
# While the function starts, the cycle collector is off: importing boto3 and making its clients creates some
# 100,000 objects, and the collector would walk them again and again (a third of a cold start's CPU). When the
# function is wired, what the start made is frozen out of later collections and the collector runs as usual on
# what invocations make. Only in a Lambda init (the variable is Lambda's): other processes keep their collector.
_COLLECTOR_HELD = os.environ.get(_INIT_TYPE) is not None and gc.isenabled()
if _COLLECTOR_HELD:
    gc.disable()


def warm() -> Any:
    """Wire the function (rules, boto3, clients) unless already done; return it. Raise ConfigError on bad rules."""
    global _app
    if _app is None:
        try:
            from ecr_autodeploy.aws.clients import Clients
            from ecr_autodeploy.wiring import build_app, load_config

            clients = Clients()
            _app = build_app(load_config(), clients)
            if os.environ.get(_INIT_TYPE) == _SNAP_START:
                # Making a client parses its service model, the bulk of boto3's start-up: do it before the snapshot.
                for service in _SNAPSHOT_CLIENTS:
                    clients.client(service)
        finally:
            _release_collector()
    return _app


def _release_collector() -> None:
    """Freeze what the start made out of later collections and turn the collector back on (once)."""
    global _COLLECTOR_HELD
    if _COLLECTOR_HELD:
        _COLLECTOR_HELD = False
        gc.freeze()
        gc.enable()


def handler(event: object, context: object) -> dict[str, Any]:
    """Return the JSON-ready result of one event; raise AutodeployError so Lambda retries and dead-letters."""
    try:
        result: dict[str, Any] = warm().handle(event).to_dict()
    except AutodeployError as err:
        logger.error(json.dumps({"error": type(err).__name__, "message": str(err)}))
        raise
    return result


if os.environ.get(_INIT_TYPE) == _SNAP_START:
    warm()
