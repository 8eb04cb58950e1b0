"""install / uninstall against moto, in-process and in server mode.

Install twice equals install once; uninstall leaves nothing after a full or partial install; the permission is
never duplicated; errors name the step, the resource and the AWS error code.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto.server import ThreadedMotoServer

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.installer import Installer, InstallOptions, install, plan_install, uninstall
from ecr_autodeploy.aws.lambda_package import with_rules
from ecr_autodeploy.cli.main import cli
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.installation import Step
from tests.functional.installs import (
    CONFIG,
    NAME,
    PACKAGE,
    REGION,
    RecordingClients,
    bootstrapped,
    inventory,
    nothing_left,
    shop,
    write_rules,
)
from tests.functional.world import ACCOUNT, World


@pytest.fixture
def clients(world: World) -> RecordingClients:
    return bootstrapped(RecordingClients(region=REGION))


# ---- idempotency ----------------------------------------------------------------------------------------------


def test_install_twice_leaves_exactly_one_of_everything(world: World, clients: RecordingClients) -> None:
    shop(world)
    first = install(clients, CONFIG, InstallOptions(), PACKAGE)
    once = inventory()
    second = install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert inventory() == once
    assert set(once["rules"]) == {NAME, f"{NAME}-deployments", f"{NAME}-reconcile"}
    assert {n: [t["Id"] for t in ts] for n, ts in once["targets"].items()} == {n: [NAME] for n in once["rules"]}
    assert once["permissions"] == sorted(
        (f"{rule}-invoke", f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{rule}") for rule in once["rules"]
    )
    assert len(once["queues"]) == 2
    assert once["tables"] == [f"{NAME}-ledger"]
    assert once["functions"] == [NAME]
    assert once["role_policies"] == [NAME]
    assert once["log_groups"] == [f"/aws/lambda/{NAME}"]
    assert once["invoke_config"]["MaximumRetryAttempts"] == 2
    assert first.dlq_url is not None
    assert first.dlq_url.endswith(f"{NAME}-dlq")
    again = {(d.step.operation, d.step.resource): (d.action, d.detail) for d in second.steps}
    assert again[("add_permission", f"{NAME}-invoke")] == ("unchanged", "")
    assert again[("create_function", NAME)] == ("updated", "same code")
    assert again[("create_table", f"{NAME}-ledger")] == ("unchanged", "")
    assert again[("put_function_event_invoke_config", NAME)] == ("unchanged", "")


def test_a_permission_that_drifted_is_replaced_not_duplicated(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    lam = boto3.client("lambda", REGION)
    lam.remove_permission(FunctionName=NAME, StatementId=f"{NAME}-invoke")
    lam.add_permission(
        FunctionName=NAME,
        StatementId=f"{NAME}-invoke",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=f"arn:aws:events:{REGION}:{ACCOUNT}:rule/someone-elses",
    )
    report = install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert ("updated", f"{NAME}-invoke") in {(d.action, d.step.resource) for d in report.steps}
    sids = [sid for sid, _ in inventory()["permissions"]]
    assert sorted(sids) == sorted(set(sids))
    assert dict(inventory()["permissions"])[f"{NAME}-invoke"] == f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{NAME}"


def test_new_code_is_deployed_and_options_change_in_place(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    changed = with_rules(PACKAGE, "{}", "another-file.json")  # other code (install repacks the zip it is given)
    report = install(clients, CONFIG, InstallOptions(retries=0, schedule=None), changed)
    done = {(d.step.operation, d.step.resource): (d.action, d.detail) for d in report.steps}
    assert done[("create_function", NAME)] == ("updated", "new code")
    assert done[("put_function_event_invoke_config", NAME)] == ("updated", "")
    # AWS replaces the configuration; moto 5 keeps reporting the first one it stored, so check what was sent.
    sent = [params for action, params in clients.calls if action == "lambda:PutFunctionEventInvokeConfig"]
    assert sent[-1]["MaximumRetryAttempts"] == 0
    assert report.rule_names == (NAME, f"{NAME}-deployments")


# ---- uninstall ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("steps_done", [1, 3, 8, 9, 12, 15, 18])
def test_uninstall_after_a_partial_install_leaves_nothing(
    world: World, clients: RecordingClients, steps_done: int
) -> None:
    shop(world)
    planned = plan_install(CONFIG, InstallOptions(), account=ACCOUNT, region=REGION, package=PACKAGE)
    Installer(clients).run(planned[:steps_done])
    report = uninstall(clients, InstallOptions())
    assert inventory() == nothing_left()
    assert {d.action for d in report.steps} <= {"done", "deleted", "absent"}


def test_uninstall_removes_targets_others_added_and_tolerates_a_second_run(
    world: World, clients: RecordingClients
) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(snapstart=True), PACKAGE)
    probe = boto3.client("sqs", REGION).create_queue(QueueName="probe")["QueueUrl"]
    boto3.client("events", REGION).put_targets(
        Rule=NAME, Targets=[{"Id": "probe", "Arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:probe"}]
    )
    uninstall(clients, InstallOptions())
    assert inventory() == nothing_left()
    again = uninstall(clients, InstallOptions())
    assert {d.action for d in again.steps} == {"absent"}
    assert boto3.client("sqs", REGION).list_queues()["QueueUrls"] == [probe]


# ---- errors --------------------------------------------------------------------------------------------------


def test_an_aws_error_names_the_step_the_resource_and_the_code(world: World, clients: RecordingClients) -> None:
    clients.failures["events:PutRule"] = "AccessDeniedException"
    with pytest.raises(AwsError) as caught:
        install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert str(caught.value).startswith(f"creating rule {NAME}: AccessDeniedException: ")


def test_a_role_lambda_cannot_assume_yet_is_retried() -> None:
    slept: list[float] = []

    class Waiter:
        def wait(self, **_: Any) -> None:
            return None

    class Lambda:
        attempts = 0

        def get_function(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException", "Message": "no"}}, "GetFunction")

        def create_function(self, **params: Any) -> Any:
            self.attempts += 1
            if self.attempts < 3:
                message = "The role defined for the function cannot be assumed by Lambda."
                raise ClientError({"Error": {"Code": "InvalidParameterValueException", "Message": message}}, "X")
            return {"FunctionArn": "arn"}

        def get_waiter(self, name: str) -> Waiter:
            return Waiter()

    fake = Lambda()

    class FakeClients(Clients):
        def client(self, service: str, region: str | None = None, role_arn: str | None = None) -> Any:
            return fake

    step = Step("creating function", "f", "lambda", "create_function", {"FunctionName": "f", "Code": {"ZipFile": b""}})
    results, _ = Installer(FakeClients(region=REGION), sleep=slept.append).run([step])
    assert [r.action for r in results] == ["created"]
    assert fake.attempts == 3
    assert len(slept) == 2


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    return write_rules(tmp_path)


# ---- server mode -------------------------------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[str]:
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    url = f"http://{host}:{port}"
    try:
        yield url
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/reset", method="POST")).close()
        moto.stop()


@pytest.mark.slow
def test_install_twice_and_uninstall_through_the_emulator_endpoint(server: str, rules_file: Path) -> None:
    ecs = boto3.client("ecs", REGION, endpoint_url=server)
    ecs.create_cluster(clusterName="shop")
    definition = ecs.register_task_definition(
        family="shop-api",
        containerDefinitions=[{"name": "app", "image": "shop/api:v0", "memory": 128}],
        taskRoleArn=f"arn:aws:iam::{ACCOUNT}:role/api-task",
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(cluster="shop", serviceName="api", taskDefinition=definition, desiredCount=1)
    base = ["--region", REGION, "--endpoint-url", server]
    boundary = CliRunner().invoke(cli, [*base, "bootstrap", "--config", str(rules_file)])
    assert boundary.exit_code == 0, boundary.output
    for _ in range(2):
        result = CliRunner().invoke(cli, [*base, "install", "--config", str(rules_file), "--json"])
        assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    lam = boto3.client("lambda", REGION, endpoint_url=server)
    statements = json.loads(lam.get_policy(FunctionName=NAME)["Policy"])["Statement"]
    assert len(statements) == len(report["rule_names"]) == 3
    events_client = boto3.client("events", REGION, endpoint_url=server)
    assert len(events_client.list_targets_by_rule(Rule=NAME)["Targets"]) == 1
    result = CliRunner().invoke(cli, [*base, "uninstall", "--json"])
    assert result.exit_code == 0, result.output
    assert events_client.list_rules(NamePrefix=NAME)["Rules"] == []
    assert lam.list_functions()["Functions"] == []
