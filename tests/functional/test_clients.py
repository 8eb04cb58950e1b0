"""aws.clients against moto: errors botocore raises become AwsError naming the step, whatever their kind."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.parsers import ResponseParserError

from ecr_autodeploy.aws.clients import Clients, aws_errors
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError, DeployError
from ecr_autodeploy.local import events
from ecr_autodeploy.wiring import build_deployer
from tests.functional.world import World

OTHER = "111122223333"
ROLE = f"arn:aws:iam::{OTHER}:role/deployer"
GARBLED = b"<AssumeRoleResponse><Credentials><SecretAccessKey>wJalrXUtnFEMIK7MDENGbPxRfiCYSECRET</Secret"


def test_a_reply_botocore_cannot_parse_is_an_aws_error_without_its_text() -> None:
    with pytest.raises(AwsError) as caught, aws_errors("assuming role", ROLE):
        raise ResponseParserError(f"Unable to parse response ({GARBLED!r}), invalid XML received")
    assert (caught.value.step, caught.value.code, caught.value.resource) == (
        "assuming role",
        "ResponseParserError",
        ROLE,
    )
    assert "SECRET" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_garbled_sts_reply_fails_only_the_target_that_assumes_the_role(world: World) -> None:
    world.repository("shop/api")
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    digest = world.push("shop/api", "v1", "one")
    clients = Clients(region="us-east-1")

    def garble(response_dict: dict[str, Any], **_: Any) -> None:
        response_dict["body"] = GARBLED

    clients._session.events.register("before-parse.sts.AssumeRole", garble)
    targets = [{"cluster": "shop", "service": "api"}, {"cluster": "prod", "service": "api", "role_arn": ROLE}]
    config = parse_config({"rules": [{"repository": "shop/api", "tags": ["*"], "targets": targets}]}, "rules")

    with pytest.raises(DeployError) as caught:
        build_deployer(config, clients, env={}).handle(events.replicate("shop/api", digest, "v1"))

    by_service = {(o.get("cluster"), o.get("status")) for o in caught.value.outcomes}
    assert ("shop", "deployed") in by_service
    assert any(o.get("cluster") == "prod" and "ResponseParserError" in str(o) for o in caught.value.outcomes)
    assert "SECRET" not in str(caught.value.outcomes)
    assert world.images_of("shop", "api")["app"].endswith(f"@{digest}")


def test_a_target_role_is_assumed_with_the_rules_external_id(world: World) -> None:
    clients = Clients(region="us-east-1")
    sent: list[dict[str, Any]] = []
    clients._session.events.register(
        "before-parameter-build.sts.AssumeRole", lambda params, **_: sent.append(dict(params))
    )
    target = {"cluster": "prod", "service": "api", "role_arn": ROLE, "role_external_id": "ecr-autodeploy-7f3a"}
    config = parse_config({"rules": [{"repository": "shop/api", "tags": ["*"], "targets": [target]}]}, "rules")
    build_deployer(config, clients, env={})
    clients.ecs("us-east-1", ROLE)
    assert [(p["RoleArn"], p.get("ExternalId")) for p in sent] == [(ROLE, "ecr-autodeploy-7f3a")]
