"""The install and uninstall plans as data: the ordered AWS calls that aws.installer runs and --dry-run prints.

Install order: a check that the permissions boundary an administrator created (core.bootstrap) exists, the two
dead-letter queues, the ledger table, the log group, the role (inside that boundary) and its policy, the
function (with SnapStart: a published version behind the ``live`` alias), its async invoke config, then per
rule (new images; ECS deployment changes; the reconcile schedule) the rule, the invoke permission scoped by
the rule's ARN, and the target. "Create" steps are run idempotently (the installer reads first); the put
steps are idempotent as AWS defines them. Uninstall removes every target of a rule before the rule, and the
function before its role; each step tolerates a resource that is already gone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import field
from typing import Any

from ecr_autodeploy.core.config import ENV_CONFIG, Config
from ecr_autodeploy.core.errors import ConfigError
from ecr_autodeploy.core.iam import TaskAccess, boundary_policy, execution_policy
from ecr_autodeploy.core.ledger_items import FUNCTION_TIMEOUT_ENV, FUNCTION_TIMEOUT_SECONDS, LEDGER_TABLE_ENV
from ecr_autodeploy.core.patterns import RECONCILE_INPUT, RECONCILE_SCHEDULE, deployment_pattern, ecr_pattern
from ecr_autodeploy.core.policy import target_dlq_policy, trust_policy
from ecr_autodeploy.core.stack import ALIAS, DEFAULT_NAME, Site, Stack
from ecr_autodeploy.core.values import frozen

ENV_LEDGER_TABLE = LEDGER_TABLE_ENV
HANDLER = "ecr_autodeploy.handler.handler"
ARCHITECTURE = "arm64"  # pure Python: Graviton costs less per GB-second
LOG_RETENTION_DAYS = 30
# EventBridge's own delivery retries (its maximum: 185 attempts over 24 hours), then the target's dead-letter queue.
TARGET_RETRIES = 185
TARGET_MAX_EVENT_AGE_S = 24 * 3600
QUEUE_ATTRIBUTES = {"MessageRetentionPeriod": str(14 * 24 * 3600), "SqsManagedSseEnabled": "true"}
LEDGER_KEY = "pk"
LEDGER_TTL_ATTRIBUTE = "expires_at"
ENVIRONMENT_LIMIT = 4096  # Lambda: all environment variables together, keys and values, in bytes
# install ships the rules inside the package, next to the code: no 4 KB limit, read once at cold start (a file on
# the function's local disk), and the code and its rules change together. AUTODEPLOY_CONFIG names the file,
# relative to the package's root (LAMBDA_TASK_ROOT); the template, which has no package of its own, inlines them.
RULES_FILE = "ecr_autodeploy_rules.json"


@frozen
class InstallOptions:
    """What to install and how: the name every resource derives from, the routes, the function's settings."""

    name: str = DEFAULT_NAME
    cloudtrail: bool = False
    snapstart: bool = False
    retries: int = 2  # Lambda's async retries of a failed invocation (0-2), then the on-failure destination
    max_event_age: int = 6 * 3600  # seconds (60 to 21600)
    schedule: str | None = RECONCILE_SCHEDULE  # reconcile schedule; None: no schedule
    memory: int = 256
    timeout: int = FUNCTION_TIMEOUT_SECONDS
    runtime: str = "python3.12"


@frozen
class Earlier:
    """A parameter filled in at run time from the response of an earlier step (`path`: ``Key`` or ``List[].Key``)."""

    operation: str
    path: str
    required: bool = True

    def __str__(self) -> str:
        return f"<{self.path} returned by {self.operation}>"


@frozen
class Step:
    """One AWS call of a plan: what it does (for messages), the resource, the boto3 service and method, params."""

    step: str
    resource: str
    service: str
    operation: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Return the step as JSON-ready data; code bytes are summarised by size and SHA-256."""
        return {
            "step": self.step,
            "resource": self.resource,
            "service": self.service,
            "operation": self.operation,
            "params": _printable(self.params),
        }


@frozen
class Route:
    """One rule of the install: its name, its pattern or schedule, and the constant input it sends (if any)."""

    rule: str
    description: str
    pattern: Mapping[str, Any] | None = None
    schedule: str | None = None
    input: Mapping[str, Any] | None = None


def routes(stack: Stack, options: InstallOptions) -> tuple[Route, ...]:
    """Return the rules install creates for these options."""
    found = [
        Route(stack.rule_name, "ecr-autodeploy: new ECR images", pattern=ecr_pattern(options.cloudtrail)),
        Route(
            stack.deployments_rule_name, "ecr-autodeploy: ECS deployment state changes", pattern=deployment_pattern()
        ),
    ]
    if options.schedule:
        found.append(
            Route(
                stack.reconcile_rule_name,
                "ecr-autodeploy: periodic reconcile",
                schedule=options.schedule,
                input=RECONCILE_INPUT,
            )
        )
    return tuple(found)


def rules_json(config: Config) -> str:
    """Return the rules as the compact JSON the function reads (in the package, or inline)."""
    return json.dumps(config.raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def environment(
    config: Config, stack: Stack, timeout: int = FUNCTION_TIMEOUT_SECONDS, *, rules_in_package: bool = False
) -> dict[str, str]:
    """Return the function's environment; raise ConfigError when it exceeds what Lambda holds.

    The timeout goes along so the function derives its lock lease from it (core/ledger_items.lock_lease). With
    `rules_in_package` the rules are the package's RULES_FILE and the variable only names it.
    """
    variables = {
        ENV_CONFIG: RULES_FILE if rules_in_package else rules_json(config),
        ENV_LEDGER_TABLE: stack.table_name,
        FUNCTION_TIMEOUT_ENV: str(timeout),
    }
    size = sum(len(k.encode()) + len(v.encode()) for k, v in variables.items())
    if size > ENVIRONMENT_LIMIT:
        raise ConfigError(
            config.source,
            f"the rules take {size} bytes as JSON; a Lambda environment holds at most {ENVIRONMENT_LIMIT} "
            "(`install` ships them inside the package instead)",
        )
    return variables


def function_settings(
    stack: Stack, config: Config, options: InstallOptions, *, rules_in_package: bool = False
) -> dict[str, Any]:
    """Return the function's configuration (CreateFunction parameters other than name, role and code)."""
    return {
        "Runtime": options.runtime,
        "Handler": HANDLER,
        "Architectures": [ARCHITECTURE],
        "MemorySize": options.memory,
        "Timeout": options.timeout,
        "Description": "Deploys new ECR images to ECS services (ecr-autodeploy)",
        "Environment": {"Variables": environment(config, stack, options.timeout, rules_in_package=rules_in_package)},
        "LoggingConfig": {
            "LogFormat": "JSON",
            "ApplicationLogLevel": "INFO",
            "SystemLogLevel": "WARN",
            "LogGroup": stack.log_group,
        },
        # SnapStart snapshots serve published versions only, hence the alias the rules target.
        "SnapStart": {"ApplyOn": "PublishedVersions" if options.snapstart else "None"},
    }


def role_description(stack: Stack) -> str:
    """Return the description of the function's execution role."""
    return f"ecr-autodeploy: execution role of the {stack.function_name} function"


def invoke_arn(stack: Stack, options: InstallOptions) -> str:
    """Return the ARN the rules invoke: the ``live`` alias with SnapStart, else the function."""
    return stack.alias_arn if options.snapstart else stack.function_arn


def target_retry_policy() -> dict[str, int]:
    """Return EventBridge's retry policy for delivering to the function."""
    return {"MaximumRetryAttempts": TARGET_RETRIES, "MaximumEventAgeInSeconds": TARGET_MAX_EVENT_AGE_S}


def ledger_key_schema() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Return (attribute definitions, key schema) of the ledger table: one string partition key."""
    return [{"AttributeName": LEDGER_KEY, "AttributeType": "S"}], [{"AttributeName": LEDGER_KEY, "KeyType": "HASH"}]


def stack_for(options: InstallOptions, account: str, region: str) -> Stack:
    """Return the names and ARNs of an install; raise ConfigError when the name cannot name them."""
    return Stack(options.name, Site.of(region, account))


def install_steps(
    stack: Stack,
    config: Config,
    options: InstallOptions,
    *,
    package: bytes,
    access: TaskAccess,
    rules_in_package: bool = False,
) -> tuple[Step, ...]:
    """Return every step of an install, in order; raise ConfigError for options AWS would refuse.

    With `rules_in_package` the package holds the rules (RULES_FILE) and the environment names that file.
    """
    _check(options)
    policy = as_json(execution_policy(config, stack, access))
    boundary, _notes = boundary_policy(config, stack, access)
    qualifier = {"Qualifier": ALIAS} if options.snapstart else {}
    attributes, key_schema = ledger_key_schema()
    steps = [
        # The boundary is an administrator's (`bootstrap`): install checks it before it creates anything, and
        # creates the role inside it.
        Step(
            "checking permissions boundary",
            stack.boundary_name,
            "iam",
            "check_boundary",
            {"PolicyArn": stack.boundary_arn, "PolicyDocument": as_json(boundary)},
        ),
        _queue(stack.dlq_name, dict(QUEUE_ATTRIBUTES)),
        _queue(stack.target_dlq_name, {**QUEUE_ATTRIBUTES, "Policy": as_json(target_dlq_policy(stack))}),
        Step(
            "creating table",
            stack.table_name,
            "dynamodb",
            "create_table",
            {
                "TableName": stack.table_name,
                "AttributeDefinitions": attributes,
                "KeySchema": key_schema,
                "BillingMode": "PAY_PER_REQUEST",
            },
        ),
        Step(
            "enabling time to live",
            stack.table_name,
            "dynamodb",
            "update_time_to_live",
            {
                "TableName": stack.table_name,
                "TimeToLiveSpecification": {"Enabled": True, "AttributeName": LEDGER_TTL_ATTRIBUTE},
            },
        ),
        Step("creating log group", stack.log_group, "logs", "create_log_group", {"logGroupName": stack.log_group}),
        Step(
            "setting log retention",
            stack.log_group,
            "logs",
            "put_retention_policy",
            {"logGroupName": stack.log_group, "retentionInDays": LOG_RETENTION_DAYS},
        ),
        Step(
            "creating role",
            stack.role_name,
            "iam",
            "create_role",
            {
                "RoleName": stack.role_name,
                "AssumeRolePolicyDocument": as_json(trust_policy()),
                "Description": role_description(stack),
                "PermissionsBoundary": stack.boundary_arn,
            },
        ),
        Step(
            "writing role policy",
            stack.role_name,
            "iam",
            "put_role_policy",
            {"RoleName": stack.role_name, "PolicyName": stack.policy_name, "PolicyDocument": policy},
        ),
        Step(
            "creating function",
            stack.function_name,
            "lambda",
            "create_function",
            {
                "FunctionName": stack.function_name,
                "Role": stack.role_arn,
                "Code": {"ZipFile": package},
                **function_settings(stack, config, options, rules_in_package=rules_in_package),
            },
        ),
    ]
    if options.snapstart:
        steps += [
            Step(
                "publishing version",
                stack.function_name,
                "lambda",
                "publish_version",
                {"FunctionName": stack.function_name},
            ),
            Step(
                "pointing alias",
                f"{stack.function_name}:{ALIAS}",
                "lambda",
                "create_alias",
                {
                    "FunctionName": stack.function_name,
                    "Name": ALIAS,
                    "FunctionVersion": Earlier("publish_version", "Version"),
                },
            ),
        ]
    steps.append(
        Step(
            "configuring async invocation",
            stack.function_name,
            "lambda",
            "put_function_event_invoke_config",
            {
                "FunctionName": stack.function_name,
                **qualifier,
                "MaximumRetryAttempts": options.retries,
                "MaximumEventAgeInSeconds": options.max_event_age,
                "DestinationConfig": {"OnFailure": {"Destination": stack.dlq_arn}},
            },
        )
    )
    for route in routes(stack, options):
        steps += _route_steps(stack, options, route, qualifier)
    return tuple(steps)


def uninstall_steps(stack: Stack) -> tuple[Step, ...]:
    """Return every step of an uninstall, in order (targets before their rule, the function before its role)."""
    steps: list[Step] = []
    for rule in stack.rule_names:
        steps += [
            Step("listing targets", rule, "events", "list_targets_by_rule", {"Rule": rule}),
            Step(
                "removing targets",
                rule,
                "events",
                "remove_targets",
                {"Rule": rule, "Ids": Earlier("list_targets_by_rule", "Targets[].Id", required=False)},
            ),
            Step("deleting rule", rule, "events", "delete_rule", {"Name": rule}),
        ]
    steps += [
        Step(
            "deleting function", stack.function_name, "lambda", "delete_function", {"FunctionName": stack.function_name}
        ),
        Step(
            "deleting role policy",
            stack.role_name,
            "iam",
            "delete_role_policy",
            {"RoleName": stack.role_name, "PolicyName": stack.policy_name},
        ),
        Step("deleting role", stack.role_name, "iam", "delete_role", {"RoleName": stack.role_name}),
        Step("deleting table", stack.table_name, "dynamodb", "delete_table", {"TableName": stack.table_name}),
        Step("deleting log group", stack.log_group, "logs", "delete_log_group", {"logGroupName": stack.log_group}),
        Step("deleting queue", stack.dlq_name, "sqs", "delete_queue", {"QueueName": stack.dlq_name}),
        Step("deleting queue", stack.target_dlq_name, "sqs", "delete_queue", {"QueueName": stack.target_dlq_name}),
    ]
    return tuple(steps)


def code_digest(code: bytes) -> str:
    """Return the base64 SHA-256 of a zip, as Lambda reports it in ``CodeSha256``."""
    return base64.b64encode(hashlib.sha256(code).digest()).decode()


def as_json(document: Mapping[str, Any]) -> str:
    """Return a policy or pattern as the compact JSON string AWS APIs take."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def _route_steps(stack: Stack, options: InstallOptions, route: Route, qualifier: dict[str, str]) -> list[Step]:
    rule: dict[str, Any] = {"Name": route.rule, "State": "ENABLED", "Description": route.description}
    if route.pattern is not None:
        rule["EventPattern"] = as_json(route.pattern)
    if route.schedule is not None:
        rule["ScheduleExpression"] = route.schedule
    target: dict[str, Any] = {
        "Id": stack.target_id,
        "Arn": invoke_arn(stack, options),
        "RetryPolicy": target_retry_policy(),
        "DeadLetterConfig": {"Arn": stack.target_dlq_arn},
    }
    if route.input is not None:
        target["Input"] = as_json(route.input)
    return [
        Step("creating rule", route.rule, "events", "put_rule", rule),
        Step(
            "adding invoke permission",
            stack.statement_id(route.rule),
            "lambda",
            "add_permission",
            {
                "FunctionName": stack.function_name,
                **qualifier,
                "StatementId": stack.statement_id(route.rule),
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": stack.rule_arn(route.rule),
            },
        ),
        Step("adding target", route.rule, "events", "put_targets", {"Rule": route.rule, "Targets": [target]}),
    ]


def _check(options: InstallOptions) -> None:
    if options.snapstart and _python_version(options.runtime) < (3, 12):
        raise ConfigError("--runtime", f"{options.runtime}: Lambda SnapStart for Python needs python3.12 or newer")
    if not 0 <= options.retries <= 2:
        raise ConfigError("--retries", f"{options.retries}: Lambda retries an asynchronous invocation 0 to 2 times")
    if not 60 <= options.max_event_age <= 21600:
        raise ConfigError("--max-event-age", f"{options.max_event_age}: Lambda accepts 60 to 21600 seconds")
    if not 128 <= options.memory <= 10240:
        raise ConfigError("--memory", f"{options.memory}: Lambda accepts 128 to 10240 MB")
    if not 1 <= options.timeout <= 900:
        raise ConfigError("--timeout", f"{options.timeout}: Lambda accepts 1 to 900 seconds")


def _python_version(runtime: str) -> tuple[int, ...]:
    digits = runtime.removeprefix("python").split(".")
    return tuple(int(d) for d in digits) if all(d.isdigit() for d in digits) else (0,)


def _queue(name: str, attributes: dict[str, str]) -> Step:
    return Step("creating queue", name, "sqs", "create_queue", {"QueueName": name, "Attributes": attributes})


def _printable(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"bytes": len(value), "sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, Earlier):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    return value
