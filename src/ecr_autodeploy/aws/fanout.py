"""The function hands a fan-out batch to itself: an asynchronous Lambda invocation of its own version.

On Lambda, AWS_LAMBDA_FUNCTION_NAME and AWS_LAMBDA_FUNCTION_VERSION name the running function; the batch goes to
that very version (``$LATEST`` unqualified), so every batch of one event runs the same code and rules. An
asynchronous invocation gets the function's own retries and on-failure destination (the dead-letter queue), like
the events EventBridge delivers. The execution policy grants ``lambda:InvokeFunction`` on this function only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.fanout import ASYNC_PAYLOAD_LIMIT

FUNCTION_NAME_ENV = "AWS_LAMBDA_FUNCTION_NAME"
FUNCTION_VERSION_ENV = "AWS_LAMBDA_FUNCTION_VERSION"
LATEST = "$LATEST"


class SelfInvoke:
    """Hand batch events to the running function, asynchronously."""

    def __init__(self, clients: Clients, function_name: str, version: str | None = None) -> None:
        self._clients = clients
        self.function_name = function_name
        self.qualifier = version if version and version != LATEST else None

    @classmethod
    def from_env(cls, clients: Clients, env: Mapping[str, str]) -> SelfInvoke | None:
        """Return the invoker of the running function, or None outside Lambda."""
        name = env.get(FUNCTION_NAME_ENV)
        return cls(clients, name, env.get(FUNCTION_VERSION_ENV)) if name else None

    def dispatch(self, event: Mapping[str, Any]) -> str:
        """Invoke the function with `event` (InvocationType Event); return the request id; raise AwsError."""
        payload = json.dumps(event, separators=(",", ":")).encode()
        resource = f"{self.function_name}:{self.qualifier}" if self.qualifier else self.function_name
        if len(payload) > ASYNC_PAYLOAD_LIMIT:
            raise AwsError(
                "handing a batch to the function",
                "RequestTooLarge",
                f"{len(payload)} bytes; an asynchronous invocation takes at most {ASYNC_PAYLOAD_LIMIT}",
                resource=resource,
            )
        qualified = {"Qualifier": self.qualifier} if self.qualifier else {}
        with aws_errors("handing a batch to the function", resource):
            reply = self._clients.client("lambda").invoke(
                FunctionName=self.function_name, InvocationType="Event", Payload=payload, **qualified
            )
        return str(reply.get("ResponseMetadata", {}).get("RequestId", "?"))
