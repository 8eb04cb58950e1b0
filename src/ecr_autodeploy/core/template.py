"""The SAM/CloudFormation template equivalent to `install`, built from the same functions install plans with.

Same names, same role policy (core.iam), same patterns (core.patterns), same function settings, queues,
table and retry policies (core.installation), and the role's permissions boundary (core.bootstrap) as a managed
policy of the stack. ARNs use the pseudo parameters ``AWS::Partition``, ``AWS::Region`` and ``AWS::AccountId``
(strings that hold them are wrapped in ``Fn::Sub``) and the task roles discovery read are parameters
(``TaskRole1``…, their names as defaults), so no account id is baked in and the template deploys to any account
and region; ``sam deploy`` uploads the zip that ``ecr-autodeploy package`` builds (``CodeUri``).
`target_template` is the cross-account part: the target role, in a stack of the target account.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ecr_autodeploy.core.bootstrap import boundary_description
from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.errors import ConfigError
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
from ecr_autodeploy.core.target_policies import TargetRole, target_permissions, target_roles, target_trust

DEFAULT_CODE_URI = "ecr-autodeploy-lambda.zip"
_PSEUDO = Site.pseudo()
_PSEUDO_TOKENS = (_PSEUDO.partition, _PSEUDO.region, _PSEUDO.account)
_ROUTE_IDS = ("ImageRule", "DeploymentRule", "ReconcileRule")
_ROLE_ARN_RE = re.compile(r"arn:[a-z-]+:iam::\d{12}:role/(?P<name>.+)")


def template(
    config: Config,
    options: InstallOptions,
    access: TaskAccess,
    *,
    code_uri: str = DEFAULT_CODE_URI,
) -> dict[str, Any]:
    """Return the template as a JSON-ready dict; raise ConfigError as install would."""
    stack = Stack(options.name, _PSEUDO)
    parameters, access = _role_parameters(access, stack)
    policy = execution_policy(config, stack, access)
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
        "Boundary": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": stack.boundary_name,
                "Description": boundary_description(stack),
                "PolicyDocument": policy,
            },
        },
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": stack.role_name,
                "Description": role_description(stack),
                "AssumeRolePolicyDocument": trust_policy(),
                "PermissionsBoundary": {"Ref": "Boundary"},
                "Policies": [{"PolicyName": stack.policy_name, "PolicyDocument": policy}],
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
    found: dict[str, Any] = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Transform": "AWS::Serverless-2016-10-31",
        "Description": "ecr-autodeploy: deploy new ECR images to ECS services (equivalent to `ecr-autodeploy install`)",
    }
    if parameters:
        found["Parameters"] = parameters
    return found | {
        "Resources": substitute(resources),
        "Outputs": {
            "FunctionArn": {"Value": {"Fn::GetAtt": ["Function", "Arn"]}},
            "DeadLetterQueueUrl": {"Value": {"Ref": "DeadLetterQueue"}},
            "TargetDeadLetterQueueArn": {"Value": {"Fn::GetAtt": ["TargetDeadLetterQueue", "Arn"]}},
            "LedgerTable": {"Value": {"Ref": "LedgerTable"}},
            "BoundaryArn": {"Value": {"Ref": "Boundary"}},
        },
    }


def target_template(config: Config, options: InstallOptions, role_arn: str) -> dict[str, Any]:
    """Return the stack of a cross-account target's account: its role, trusting the function's role only.

    The function's account is a parameter (``FunctionAccountId``); the target's own ARNs use pseudo parameters.
    Raise ConfigError when `role_arn` is not a target role of the rules.
    """
    roles = {role.arn: role for role in target_roles(config)}
    role = roles.get(role_arn)
    if role is None:
        known = ", ".join(roles) or "none"
        raise ConfigError("--target-role", f"{role_arn} is not a role_arn of the rules (they name: {known})")
    function_site = Site(_PSEUDO.partition, _PSEUDO.region, "${FunctionAccountId}")
    name, path = _name_and_path(role)
    properties: dict[str, Any] = {
        "RoleName": name,
        "Description": f"ecr-autodeploy: deploys from the {options.name} function in account FunctionAccountId",
        "AssumeRolePolicyDocument": target_trust(role, Stack(options.name, function_site)),
        "Policies": [
            {"PolicyName": "ecr-autodeploy-target", "PolicyDocument": target_permissions(config, role, _PSEUDO)}
        ],
    }
    if path != "/":
        properties["Path"] = path
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": f"ecr-autodeploy: the target role {role.name_with_path} for cross-account deploys",
        "Parameters": {
            "FunctionAccountId": {
                "Type": "String",
                "AllowedPattern": "^[0-9]{12}$",
                "Description": "The account of the ecr-autodeploy function whose role may assume this one",
            }
        },
        "Resources": substitute({"TargetRole": {"Type": "AWS::IAM::Role", "Properties": properties}}),
        "Outputs": {"TargetRoleArn": {"Value": {"Fn::GetAtt": ["TargetRole", "Arn"]}}},
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


def resolve(value: Any, site: Site, parameters: Mapping[str, str] | None = None) -> Any:
    """Return `value` with each ``Fn::Sub`` replaced by the site's values and the parameters (for comparisons).

    A whole template's own parameter defaults are used when `parameters` is not given.
    """
    if parameters is None and isinstance(value, Mapping) and isinstance(value.get("Parameters"), Mapping):
        parameters = {k: str(v["Default"]) for k, v in value["Parameters"].items() if "Default" in v}
    if isinstance(value, Mapping):
        if set(value) == {"Fn::Sub"} and isinstance(value["Fn::Sub"], str):
            text = value["Fn::Sub"]
            for token, real in zip(_PSEUDO_TOKENS, (site.partition, site.region, site.account), strict=True):
                text = text.replace(token, real)
            for name, real in (parameters or {}).items():
                text = text.replace(f"${{{name}}}", real)
            return text
        return {key: resolve(item, site, parameters) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, site, parameters) for item in value]
    return value


def _role_parameters(access: TaskAccess, stack: Stack) -> tuple[dict[str, Any], TaskAccess]:
    """Return one parameter per discovered task role (its name as default) and the access that refers to them.

    Discovered roles are ARNs of the account discovery read; as parameters the template bakes in no account id.
    """
    parameters: dict[str, Any] = {}
    roles = []
    for i, role in enumerate(access.roles, 1):
        match = _ROLE_ARN_RE.fullmatch(role)
        if match is None:
            roles.append(role)
            continue
        parameters[f"TaskRole{i}"] = {
            "Type": "String",
            "Default": match.group("name"),
            "Description": "A task or execution role (name with path) the pinned revisions pass to ECS",
        }
        roles.append(stack.site.arn("iam", f"role/${{TaskRole{i}}}", region=""))
    return parameters, replace(access, roles=tuple(roles))


def _name_and_path(role: TargetRole) -> tuple[str, str]:
    parts = role.name_with_path.split("/")
    return parts[-1], "/" + "".join(f"{p}/" for p in parts[:-1])


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
