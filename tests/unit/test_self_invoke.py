"""The function hands a batch to itself: an asynchronous Invoke of its own version, within Lambda's payload limit;
wired only on Lambda (where AWS_LAMBDA_FUNCTION_NAME is set) and only when batches are on."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.stub import Stubber

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.fanout import SelfInvoke
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.fanout import ASYNC_PAYLOAD_LIMIT
from ecr_autodeploy.engine.fanout import FanOut
from ecr_autodeploy.wiring import build_app

CONFIG = parse_config({"rules": [{"repository": "app", "targets": [{"cluster": "c", "service": "s"}]}]}, "rules")


def stubbed(clients: Clients) -> Stubber:
    return Stubber(clients.client("lambda"))


@pytest.mark.parametrize(("version", "qualifier"), [("7", {"Qualifier": "7"}), ("$LATEST", {}), (None, {})])
def test_a_batch_goes_to_the_running_version_asynchronously(version: str | None, qualifier: dict[str, str]) -> None:
    clients = Clients(region="us-east-1")
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": "ecr-autodeploy",
        **({"AWS_LAMBDA_FUNCTION_VERSION": version} if version else {}),
    }
    invoker = SelfInvoke.from_env(clients, env)
    assert invoker is not None
    event: dict[str, Any] = {"source": "ecr-autodeploy", "detail-type": "Fan-out batch", "detail": {}}
    with stubbed(clients) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202, "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 202}},
            {
                "FunctionName": "ecr-autodeploy",
                "InvocationType": "Event",
                "Payload": b'{"source":"ecr-autodeploy","detail-type":"Fan-out batch","detail":{}}',
                **qualifier,
            },
        )
        assert invoker.dispatch(event) == "req-1"


def test_a_refused_invoke_is_an_aws_error_naming_the_function() -> None:
    clients = Clients(region="us-east-1")
    invoker = SelfInvoke(clients, "ecr-autodeploy", "3")
    with stubbed(clients) as stub:
        stub.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded", 429)
        with pytest.raises(AwsError, match="ecr-autodeploy:3: TooManyRequestsException"):
            invoker.dispatch({"detail": {}})


def test_a_payload_over_the_limit_is_refused_before_any_call() -> None:
    invoker = SelfInvoke(Clients(region="us-east-1"), "ecr-autodeploy")
    with pytest.raises(AwsError, match="RequestTooLarge"):
        invoker.dispatch({"detail": "x" * ASYNC_PAYLOAD_LIMIT})


def test_fan_out_is_wired_on_lambda_only_and_not_with_a_batch_size_of_zero() -> None:
    on_lambda = {"AWS_LAMBDA_FUNCTION_NAME": "ecr-autodeploy"}
    wired = build_app(CONFIG, Clients(region="us-east-1"), env=on_lambda).deployer.fanout
    assert isinstance(wired, FanOut)
    assert isinstance(wired.port, SelfInvoke)
    assert wired.size == 100
    assert build_app(CONFIG, Clients(region="us-east-1"), env={}).deployer.fanout is None
    off = {**on_lambda, "AUTODEPLOY_FANOUT_BATCH": "0"}
    assert build_app(CONFIG, Clients(region="us-east-1"), env=off).deployer.fanout is None
    assert SelfInvoke.from_env(Clients(region="us-east-1"), {}) is None
