"""The SAM/CloudFormation template equivalent to `install`, built from the same functions install plans with.

Same names, same role policy (core.iam), same patterns (core.patterns), same function settings, queues,
table and retry policies (core.installation). ARNs use the pseudo parameters ``AWS::Partition``, ``AWS::Region``
and ``AWS::AccountId`` (strings that hold them are wrapped in ``Fn::Sub``), so the template deploys to any
account and region; ``sam deploy`` uploads the zip that ``ecr-autodeploy package`` builds (``CodeUri``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.iam import TaskAccess, execution_policy
from ecr_autodeploy.core.installation import (
    LEDGER_TTL_ATTRIBUTE,
    LOG_RETENTION_DAYS,
    QUEUE_ATTRIBUTES,
    InstallOptions,
    Route,
    as_json,
    function_settings,
    ledger_key_schema,
    role_description,
    routes,
    target_retry_policy,
)
from ecr_autodeploy.core.policy import target_dlq_policy, trust_policy
from ecr_autodeploy.core.stack import ALIAS, Site, Stack

DEFAULT_CODE_URI = "ecr-autodeploy-lambda.zip"
_PSEUDO = Site.pseudo()
_PSEUDO_TOKENS = (_PSEUDO.partition, _PSEUDO.region, _PSEUDO.account)
_ROUTE_IDS = ("ImageRule", "DeploymentRule", "ReconcileRule")


def template(
    config: Config,
    options: InstallOptions,
    access: TaskAccess,
    *,
    code_uri: str = DEFAULT_CODE_URI,
) -> dict[str, Any]:
    """Return the template as a JSON-ready dict; raise ConfigError as install would."""
    stack = Stack(options.name, _PSEUDO)
    settings = function_settings(stack, config, options)
    function: dict[str, Any] = {
        "FunctionName": stack.function_name,
        "CodeUri": code_uri,
        **{key: value for key, value in settings.items() if key != "LoggingConfig"},
        "LoggingConfig": {**settings["LoggingConfig"], "LogGroup": {"Ref": "LogGroup"}},
        "Role": {"Fn::GetAtt": ["Role", "Arn"]},
        "EventInvokeConfig": {
            "MaximumRetryAttempts": options.retries,
            "MaximumEventAgeInSeconds": options.max_event_age,
            "DestinationConfig": {
                "OnFailure": {"Type": "SQS", "Destination": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}}
            },
        },
    }
    if options.snapstart:
        # SAM publishes a version on each deploy and points the alias at it; the rules invoke the alias.
        function["AutoPublishAlias"] = ALIAS
    invoked = {"Ref": f"Function{_alias_suffix()}"} if options.snapstart else {"Fn::GetAtt": ["Function", "Arn"]}
    attributes, key_schema = ledger_key_schema()
    resources: dict[str, Any] = {
        "DeadLetterQueue": _queue(stack.dlq_name),
        "TargetDeadLetterQueue": _queue(stack.target_dlq_name),
        "TargetDeadLetterQueuePolicy": {
            "Type": "AWS::SQS::QueuePolicy",
            "Properties": {"Queues": [{"Ref": "TargetDeadLetterQueue"}], "PolicyDocument": target_dlq_policy(stack)},
        },
        "LedgerTable": {
            "Type": "AWS::DynamoDB::Table",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {
                "TableName": stack.table_name,
                "AttributeDefinitions": attributes,
                "KeySchema": key_schema,
                "BillingMode": "PAY_PER_REQUEST",
                "TimeToLiveSpecification": {"Enabled": True, "AttributeName": LEDGER_TTL_ATTRIBUTE},
            },
        },
        "LogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "DeletionPolicy": "Delete",
            "UpdateReplacePolicy": "Delete",
            "Properties": {"LogGroupName": stack.log_group, "RetentionInDays": LOG_RETENTION_DAYS},
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": stack.role_name,
                "Description": role_description(stack),
                "AssumeRolePolicyDocument": trust_policy(),
                "Policies": [
                    {"PolicyName": stack.policy_name, "PolicyDocument": execution_policy(config, stack, access)}
                ],
            },
        },
        "Function": {"Type": "AWS::Serverless::Function", "Properties": function},
    }
    for logical, route in zip(_ROUTE_IDS, routes(stack, options), strict=False):
        resources[logical] = _rule(stack, route, invoked)
        resources[f"{logical}Permission"] = {
            "Type": "AWS::Lambda::Permission",
            "Properties": {
                "FunctionName": invoked,
                "Action": "lambda:InvokeFunction",
                "Principal": "events.amazonaws.com",
                "SourceArn": {"Fn::GetAtt": [logical, "Arn"]},
            },
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "ecr-autodeploy: deploy new ECR images to ECS services (equivalent to `ecr-autodeploy install`)",
        "Resources": substitute(resources),
        "Outputs": {
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Function", "Arn"]}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
            "TargetDeadLetterQueueArn": {"Value": {"Fn::GetAtt": ["TargetDeadLetterQueue", "Arn"]}},
            "LedgerTable": {"Value": {"Ref": "LedgerTable"}},
        },
    }


def substitute(value: Any) -> Any:
    """Return `value` with every string that holds a pseudo parameter wrapped in ``Fn::Sub``."""
    if isinstance(value, str):
        return {"Fn::Sub": value} if any(token in value for token in _PSEUDO_TOKENS) else value
    if isinstance(value, Mapping):
        return {key: substitute(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [substitute(item) for item in value]
    return value


def resolve(value: Any, site: Site) -> Any:
    """Return `value` with each ``Fn::Sub`` of pseudo parameters replaced by the site's values (for comparisons)."""
    if isinstance(value, Mapping):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for token, real in zip(_PSEUDO_TOKENS, (site.partition, site.region, site.account), strict=True):
                text = text.replace(token, real)
            return text
        return {key: resolve(item, site) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, site) for item in value]
    return value


def _alias_suffix() -> str:
    # SAM names the alias it creates for AutoPublishAlias "<function logical id>Alias<alias name>".
    return f"Alias{ALIAS}"


def _queue(name: str) -> dict[str, Any]:
    return {
        "Type": "AWS::SQS::Queue",
        # As `uninstall`: removing the stack removes the queues, with any dead-lettered events in them.
        "DeletionPolicy": "Delete",
        "UpdateReplacePolicy": "Delete",
        "Properties": {
            "QueueName": name,
            "MessageRetentionPeriod": int(QUEUE_ATTRIBUTES["MessageRetentionPeriod"]),
            "SqsManagedSseEnabled": QUEUE_ATTRIBUTES["SqsManagedSseEnabled"] == "true",
        },
    }


def _rule(stack: Stack, route: Route, invoked: Mapping[str, Any]) -> dict[str, Any]:
    target: dict[str, Any] = {
        "Id": stack.target_id,
        "Arn": invoked,
        "RetryPolicy": target_retry_policy(),
        "DeadLetterConfig": {"Arn": {"Fn::GetAtt": ["TargetDeadLetterQueue", "Arn"]}},
    }
    if route.input is not None:
        target["Input"] = as_json(route.input)
    properties: dict[str, Any] = {
        "Name": route.rule,
        "Description": route.description,
        "State": "ENABLED",
        "Targets": [target],
    }
    if route.pattern is not None:
        properties["EventPattern"] = route.pattern
    if route.schedule is not None:
        properties["ScheduleExpression"] = route.schedule
    return {"Type": "AWS::Events::Rule", "Properties": properties}
