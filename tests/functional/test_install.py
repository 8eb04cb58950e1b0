"""install / uninstall / policy / template / package against moto, in-process and in server mode.

Install twice equals install once; uninstall leaves nothing after a full or partial install; the permission is
never duplicated; the installed rules deliver exactly the events the handler accepts (moto's own pattern
matching, through an SQS target); the role policy allows exactly the rules' services; the installer and
execution policies allow every call install, uninstall and a deploy really make.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from botocore.exceptions import ClientError
from click.testing import CliRunner
from moto.server import ThreadedMotoServer

from ecr_autodeploy.aws.clients import Clients
from ecr_autodeploy.aws.installer import Installer, InstallOptions, install, plan_install, uninstall
from ecr_autodeploy.cli.main import cli
from ecr_autodeploy.core.config import parse_config
from ecr_autodeploy.core.errors import AwsError
from ecr_autodeploy.core.iam import TaskAccess, policies
from ecr_autodeploy.core.installation import ENV_LEDGER_TABLE, Step
from ecr_autodeploy.core.patterns import DEPLOYMENT_EVENT_NAMES
from ecr_autodeploy.core.stack import Site, Stack
from ecr_autodeploy.packaging import build_package
from ecr_autodeploy.wiring import LEDGER_ENV, build_deployer
from tests.eventbridge import deployment_verdict, is_cloudtrail, verdict
from tests.functional import events
from tests.functional.world import ACCOUNT, World
from tests.iam_check import allows, resources_for
from tests.samples import load_event, sample_names

REGION = "us-east-1"
NAME = "ecr-autodeploy"
RULES: dict[str, Any] = {
    "rules": [
        {
            "repository": "shop/api",
            "targets": [{"cluster": "shop", "service": "api"}, {"cluster": "shop", "service": "web"}],
        },
        {
            "repository": "re:team/(?P<service>[a-z]+)",
            "strategy": "force",
            "targets": [{"cluster": "team", "service": "{service}"}],
        },
    ]
}
CONFIG = parse_config(RULES, "rules.yaml")
PACKAGE = build_package().data


class FakeHttp:
    """The HTTP response a before-call hook returns to make botocore raise an error without a request."""

    status_code = 400
    headers: Mapping[str, str] = {}


class RecordingClients(Clients):
    """Clients that record every call as (IAM action, parameters), and can make chosen actions fail."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.failures: dict[str, str] = {}
        self._hooked: set[int] = set()

    def client(self, service: str, region: str | None = None, role_arn: str | None = None) -> Any:
        found = super().client(service, region, role_arn)
        if id(found) not in self._hooked:
            self._hooked.add(id(found))
            found.meta.events.register("before-parameter-build", self._record)
            found.meta.events.register("before-call", self._fail)
        return found

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self.calls.append((f"{model.service_model.signing_name}:{model.name}", dict(params)))

    def _fail(self, model: Any, **_: Any) -> tuple[FakeHttp, dict[str, Any]] | None:
        code = self.failures.get(f"{model.service_model.signing_name}:{model.name}")
        if code is None:
            return None
        return FakeHttp(), {"Error": {"Code": code, "Message": "injected by the test"}}


@pytest.fixture
def clients(world: World) -> RecordingClients:
    return RecordingClients(region=REGION)


def shop(world: World) -> None:
    """Services the rules name (shop/api, shop/web pinned; team/billing by template, forced) and one they don't."""
    world.repository("shop/api")
    world.repository("team/billing")
    world.cluster("shop")
    world.cluster("team")
    for name in ("api", "web", "admin"):
        world.service("shop", name, {"app": world.image_uri("shop/api", ":v0")})
    world.service("team", "billing", {"app": world.image_uri("team/billing", ":v0")})


def inventory(name: str = NAME) -> dict[str, Any]:
    """Return everything an install of `name` may have created, as comparable data."""
    ev, lam, iam = boto3.client("events", REGION), boto3.client("lambda", REGION), boto3.client("iam")
    rules = {r["Name"]: r for r in ev.list_rules(NamePrefix=name)["Rules"]}
    found: dict[str, Any] = {
        "rules": {n: (r.get("EventPattern"), r.get("ScheduleExpression")) for n, r in rules.items()},
        "targets": {n: ev.list_targets_by_rule(Rule=n)["Targets"] for n in rules},
        "functions": [f["FunctionName"] for f in lam.list_functions()["Functions"] if f["FunctionName"] == name],
        "roles": [r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"] == name],
        "queues": sorted(boto3.client("sqs", REGION).list_queues(QueueNamePrefix=name).get("QueueUrls", [])),
        "tables": [t for t in boto3.client("dynamodb", REGION).list_tables()["TableNames"] if t.startswith(name)],
        "log_groups": [
            g["logGroupName"]
            for g in boto3.client("logs", REGION).describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")[
                "logGroups"
            ]
        ],
    }
    if found["functions"]:
        found["permissions"] = sorted(
            (s["Sid"], s["Condition"]["ArnLike"]["AWS:SourceArn"])
            for s in json.loads(lam.get_policy(FunctionName=name)["Policy"])["Statement"]
        )
        found["invoke_config"] = {
            k: v
            for k, v in lam.get_function_event_invoke_config(FunctionName=name).items()
            if k in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
        }
    if found["roles"]:
        found["role_policies"] = iam.list_role_policies(RoleName=name)["PolicyNames"]
    return found


def nothing_left() -> dict[str, Any]:
    return {"rules": {}, "targets": {}, "functions": [], "roles": [], "queues": [], "tables": [], "log_groups": []}


def role_policy(name: str = NAME) -> dict[str, Any]:
    document: Any = boto3.client("iam").get_role_policy(RoleName=name, PolicyName=name)["PolicyDocument"]
    found: dict[str, Any] = json.loads(document) if isinstance(document, str) else dict(document)
    return found


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
    report = install(clients, CONFIG, InstallOptions(retries=0, schedule=None), PACKAGE + b"\0")
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


# ---- the rules deliver exactly what the handler accepts -------------------------------------------------------


def probe_queue(rule: str) -> str:
    """Route an installed rule to an SQS queue instead of the function; return the queue URL.

    moto matches patterns for SQS targets but cannot deliver to a Lambda target (it raises), so the function's
    target is swapped for the queue; the rule and its pattern stay exactly as install made them.
    """
    sqs = boto3.client("sqs", REGION)
    url = sqs.create_queue(QueueName=f"probe-{rule}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rules = boto3.client("events", REGION)
    for name in rules.list_rules(NamePrefix=NAME)["Rules"]:
        rules.remove_targets(Rule=name["Name"], Ids=[NAME])
    rules.put_targets(Rule=rule, Targets=[{"Id": "probe", "Arn": arn}])
    return url


def delivered(event: Mapping[str, Any], queue: str) -> bool:
    """Put one event on the default bus; return whether the rule routed it to the queue."""
    entry: Any = {
        "Source": event["source"],
        "DetailType": event["detail-type"],
        "Detail": json.dumps(event["detail"]),
        "Resources": [r for r in event.get("resources", []) if isinstance(r, str)],
    }
    put = boto3.client("events", REGION).put_events(Entries=[entry])
    assert put["FailedEntryCount"] == 0
    sqs = boto3.client("sqs", REGION)
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    for message in messages:
        sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    return bool(messages)


@pytest.mark.parametrize("cloudtrail", [False, True], ids=["ecr-events", "with-cloudtrail"])
def test_the_image_rule_delivers_every_accepted_sample_and_no_ignored_one(
    world: World, clients: RecordingClients, cloudtrail: bool
) -> None:
    install(clients, CONFIG, InstallOptions(cloudtrail=cloudtrail), PACKAGE)
    queue = probe_queue(NAME)
    checked = {"accepted": 0, "ignored": 0}
    for name in sample_names():
        event = load_event(name)
        if not isinstance(event, dict) or not isinstance(event.get("detail"), dict):
            continue  # not an EventBridge event at all
        found = verdict(event)
        if found == "malformed":
            continue
        expected = found == "accepted" and (cloudtrail or not is_cloudtrail(event))
        assert delivered(event, queue) == expected, name
        checked[found] += 1
    assert checked["accepted"] >= 8
    assert checked["ignored"] >= 6


def test_the_deployment_rule_delivers_the_deployment_states_only(world: World, clients: RecordingClients) -> None:
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    queue = probe_queue(f"{NAME}-deployments")
    for name in (*DEPLOYMENT_EVENT_NAMES, "SERVICE_TASK_PLACEMENT_FAILURE"):
        event = load_event("other_source_ecs_deployment_state_change")
        event["detail"]["eventName"] = name
        assert delivered(event, queue) == (deployment_verdict(event) == "accepted"), name
    assert not delivered(events.replicate("shop/api", "sha256:" + "a" * 64, "v1"), queue)


# ---- least privilege, checked against what really happens --------------------------------------------------------


def test_the_role_policy_allows_exactly_the_services_of_the_rules(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    policy = role_policy()
    ecs = boto3.client("ecs", REGION)
    allowed = set()
    for cluster in ecs.list_clusters()["clusterArns"]:
        for service in ecs.list_services(cluster=cluster)["serviceArns"]:
            if allows(policy, "ecs:UpdateService", service):
                allowed.add(service.split(":service/")[1])
    assert allowed == {"shop/api", "shop/web", "team/billing"}
    # Only the pinned services register revisions and pass roles: team/billing is forced, shop/admin unmapped.
    assert resources_for(policy, "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-api:*",
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-web:*",
    }
    assert resources_for(policy, "iam:PassRole") == {
        f"arn:aws:iam::{ACCOUNT}:role/{service}-{kind}" for service in ("api", "web") for kind in ("task", "execution")
    }


def test_a_missing_service_is_reported_and_left_out(world: World, clients: RecordingClients) -> None:
    world.cluster("shop")
    world.service("shop", "api", {"app": world.image_uri("shop/api", ":v0")})
    report = install(clients, CONFIG, InstallOptions(), PACKAGE)
    assert any("shop/web" in note and "ServiceNotFoundException" in note for note in report.notes)
    assert resources_for(role_policy(), "ecs:RegisterTaskDefinition") == {
        f"arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/shop-api:*"
    }


def resource_of(action: str, params: Mapping[str, Any], stack: Stack) -> list[str]:
    """Return the ARNs an API call acts on, from its parameters (as IAM authorises it)."""
    site = stack.site
    service, operation = action.split(":")
    if service == "events":
        return [stack.rule_arn(params.get("Rule") or params["Name"])]
    if service == "lambda":
        qualifier = params.get("Qualifier")
        name = params["FunctionName"]
        return [site.arn("lambda", f"function:{name}" + (f":{qualifier}" if qualifier else ""))]
    if service == "iam":
        return [site.arn("iam", f"role/{params['RoleName']}", region="")]
    if service == "sqs":
        queue = params.get("QueueName") or str(params["QueueUrl"]).rsplit("/", 1)[-1]
        return [site.arn("sqs", queue)]
    if service == "dynamodb":
        if operation == "BatchGetItem":
            return [site.arn("dynamodb", f"table/{t}") for t in params["RequestItems"]]
        return [site.arn("dynamodb", f"table/{params['TableName']}")]
    if service == "logs":
        return [site.arn("logs", f"log-group:{params['logGroupName']}")]
    if service == "ecr":
        return [site.arn("ecr", f"repository/{params['repositoryName']}")]
    if operation in ("DescribeServices",):
        return [site.arn("ecs", f"service/{params['cluster']}/{s}") for s in params["services"]]
    if operation == "UpdateService":
        return [site.arn("ecs", f"service/{params['cluster']}/{params['service']}")]
    if operation == "RegisterTaskDefinition":
        return [site.arn("ecs", f"task-definition/{params['family']}:1")]
    return ["*"]  # actions without resource-level permissions


def assert_allowed(calls: list[tuple[str, dict[str, Any]]], policy: Mapping[str, Any], stack: Stack) -> set[str]:
    seen = set()
    for action, params in calls:
        if action == "sts:GetCallerIdentity":
            continue  # needs no permission
        for resource in resource_of(action, params, stack):
            assert allows(policy, action, resource), (action, resource)
        seen.add(action)
    return seen


def test_the_installer_policy_allows_every_call_of_install_and_uninstall(
    world: World, clients: RecordingClients
) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(snapstart=True), PACKAGE)
    install(clients, CONFIG, InstallOptions(), PACKAGE + b"\0")
    uninstall(clients, InstallOptions())
    stack = Stack(NAME, Site.of(REGION, ACCOUNT))
    seen = assert_allowed(clients.calls, policies(CONFIG, stack, TaskAccess.unknown())["installer"], stack)
    assert {"events:PutRule", "lambda:AddPermission", "lambda:CreateAlias", "iam:DeleteRole"} <= seen


def test_the_execution_policy_allows_every_call_of_a_pinned_deploy(world: World, clients: RecordingClients) -> None:
    shop(world)
    install(clients, CONFIG, InstallOptions(), PACKAGE)
    digest = world.push("shop/api", "v1", "one")
    deployer = build_deployer(CONFIG, clients, env={LEDGER_ENV: f"{NAME}-ledger"})
    clients.calls.clear()
    result = deployer.handle(events.replicate("shop/api", digest, "v1"))
    assert {o.status for o in result.outcomes} == {"deployed"}
    seen = assert_allowed(clients.calls, role_policy(), Stack(NAME, Site.of(REGION, ACCOUNT)))
    assert {"ecs:RegisterTaskDefinition", "ecs:UpdateService", "ecr:DescribeImages"} <= seen
    assert ENV_LEDGER_TABLE == LEDGER_ENV


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


# ---- the commands ------------------------------------------------------------------------------------------------


@pytest.fixture
def rules_file(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(RULES))
    return path


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["--region", REGION, *args])


def test_dry_run_prints_every_call_as_data_and_changes_nothing(world: World, rules_file: Path) -> None:
    shop(world)
    result = run("install", "--config", str(rules_file), "--dry-run")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert [s["operation"] for s in plan][:3] == ["create_queue", "create_queue", "create_table"]
    function = next(s for s in plan if s["operation"] == "create_function")
    assert function["params"]["Code"]["ZipFile"]["bytes"] > 1000
    assert function["params"]["LoggingConfig"]["LogFormat"] == "JSON"
    assert inventory() == nothing_left()


def test_install_and_uninstall_commands(world: World, rules_file: Path) -> None:
    shop(world)
    installed = run("install", "--config", str(rules_file), "--json")
    assert installed.exit_code == 0, installed.output
    report = json.loads(installed.stdout)
    assert report["rule_names"] == [NAME, f"{NAME}-deployments", f"{NAME}-reconcile"]
    assert inventory()["functions"] == [NAME]
    removed = run("uninstall")
    assert removed.exit_code == 0, removed.output
    assert "uninstalled ecr-autodeploy" in removed.stdout
    assert inventory() == nothing_left()


def test_a_bad_name_is_an_error_naming_the_option(world: World, rules_file: Path) -> None:
    result = run("install", "--config", str(rules_file), "--name", "bad name!")
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: --name: 'bad name!'")


def test_policy_prints_json_only_on_stdout(world: World, rules_file: Path) -> None:
    shop(world)
    result = run("policy", "--config", str(rules_file))
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert set(found) == {"execution", "installer", "console"}
    execution = run("policy", "--config", str(rules_file), "--kind", "execution")
    assert json.loads(execution.stdout) == found["execution"]


def test_template_command_prints_yaml_for_sam(world: World, rules_file: Path) -> None:
    result = run("template", "--config", str(rules_file), "--no-discover")
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(result.stdout)
    assert document["Transform"] == "AWS::Serverless-2016-10-31"
    assert "account-wide patterns" in result.stderr


def test_package_command_writes_the_zip(tmp_path: Path) -> None:
    target = tmp_path / "lambda.zip"
    result = CliRunner().invoke(cli, ["package", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes() == build_package().data
    assert "under the 150 KB target" in result.stdout


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
