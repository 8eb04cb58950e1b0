"""IAM policy documents computed from the rules: the function's role, and every kind `policy` prints.

Least privilege, resource by resource (https://docs.aws.amazon.com/service-authorization/latest/reference/):
  * the ECS statements of core.ecs_grants on the rules' services in this account (UpdateService only to the
    pinned families' revisions, RegisterTaskDefinition for those families, PassRole of their roles to
    ``ecs-tasks`` only; the Service Deployments API to judge rollouts, StopServiceDeployment where a rule rolls
    back; ContinueServiceDeployment is the CLI's ``continue``, never the function's);
  * ``ecr:DescribeImages`` on the repositories the rules match (core.scopes), ``ecr:DescribeRepositories`` on
    the region's registry (reconcile lists it); ``sts:AssumeRole`` on the targets' ``role_arn`` (their ECS calls
    then run as that role, whose own policy is core.target_policies);
  * the function's own log group, dead-letter queue and ledger table, and invoking itself (fan-out batches); the
    SNS topic, SSM parameters and secrets that the ``notify:`` settings name; ``cloudwatch:DescribeAlarms`` on the
    alarms ``hold_if_alarm`` names (in each of the rule's target regions), only when a rule names them.
Families and roles come from the live services (aws.discovery) and from the rules (core.task_access); when
nothing was looked up (``TaskAccess.unknown()``) only what the rules name is granted, never a wildcard. The
same document is the role's permissions boundary (core.bootstrap), folded to fit a managed policy if need be.
"""

from __future__ import annotations

import re
from typing import Any

from ecr_autodeploy.core.config import Config
from ecr_autodeploy.core.console_policy import console_policy
from ecr_autodeploy.core.ecs_grants import ecs_statements
from ecr_autodeploy.core.installer_policy import installer_policy
from ecr_autodeploy.core.policy import Policy, document, statement
from ecr_autodeploy.core.policy_fit import INLINE_POLICY_LIMIT, MANAGED_POLICY_LIMIT, fit
from ecr_autodeploy.core.scopes import repository_patterns, service_scopes
from ecr_autodeploy.core.stack import Stack
from ecr_autodeploy.core.target_policies import target_policies
from ecr_autodeploy.core.task_access import TaskAccess, merged, named_access, unnamed_pinned_targets

KINDS = ("execution", "installer", "console", "target")

__all__ = ["KINDS", "TaskAccess", "boundary_policy", "execution_policy", "policies", "unnamed_pinned_targets"]

# Secrets Manager appends "-" and six random characters to a secret's name in its ARN.
_SECRET_SUFFIX = "-??????"
_FULL_SECRET_ARN_RE = re.compile(r".*:secret:.+-[A-Za-z0-9]{6}\Z")
# What the ledger adapter calls (no Query or Scan: every read is by key). TransactWriteItems is authorised as
# the actions of its items (PutItem, UpdateItem, ConditionCheckItem).
LEDGER_ACTIONS = (
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:BatchGetItem",
)


def execution_policy(config: Config, stack: Stack, access: TaskAccess) -> Policy:
    """Return the inline policy of the function's role: exactly what the deploy path calls, on what it calls.

    `access` is what discovery read (or ``TaskAccess.unknown()``); the families and roles the rules name are
    added to it. Over IAM's inline limit, resources are folded into shared prefixes (core.policy_fit).
    """
    policy, _notes = fit(exact_execution_policy(config, stack, access), INLINE_POLICY_LIMIT, "the role's policy")
    return policy


def boundary_policy(config: Config, stack: Stack, access: TaskAccess) -> tuple[Policy, tuple[str, ...]]:
    """Return the permissions boundary (the execution policy within a managed policy's limit) and fold notes."""
    return fit(exact_execution_policy(config, stack, access), MANAGED_POLICY_LIMIT, "the permissions boundary")


def exact_execution_policy(config: Config, stack: Stack, access: TaskAccess) -> Policy:
    """Return the execution policy with every resource named, whatever its size."""
    site = stack.site
    scopes = service_scopes(config)
    local = [s for s in scopes if s.role_arn is None]
    found = merged(access, named_access(config))
    statements = ecs_statements(site, local, found.families, found.forced_families, found.roles)
    repositories = [site.arn("ecr", f"repository/{p}") for p in repository_patterns(config)]
    # DescribeImages is the only image read: the arrived image, the images services run, the newest allowed.
    statements.append(statement("ReadImages", ["ecr:DescribeImages"], repositories))
    # Reconcile and status list the registry's repositories to match globs and regexes: a listing covers all.
    statements.append(statement("ListRepositories", ["ecr:DescribeRepositories"], [site.arn("ecr", "repository/*")]))
    assumed = sorted({s.role_arn for s in scopes if s.role_arn is not None})
    if assumed:
        statements.append(statement("AssumeTargetRoles", ["sts:AssumeRole"], assumed))
    statements.append(statement("Ledger", LEDGER_ACTIONS, [stack.table_arn]))
    statements.extend(notify_statements(config, stack))
    statements.extend(alarm_statements(config, stack))
    statements.append(
        statement("WriteOwnLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{stack.log_group_arn}:*"])
    )
    statements.append(statement("DeadLetters", ["sqs:SendMessage"], [stack.dlq_arn]))
    # A fan-out larger than one invocation's batch is handed to this same function (core/fanout.py), its version.
    statements.append(
        statement("FanOutToItself", ["lambda:InvokeFunction"], [stack.function_arn, f"{stack.function_arn}:*"])
    )
    return document(statements)


def notify_statements(config: Config, stack: Stack) -> list[dict[str, Any]]:
    """Return the statements the ``notify:`` settings need: publish to the topic, read the stored URLs."""
    settings = config.notify
    if settings is None:
        return []
    found: list[dict[str, Any]] = []
    if settings.sns_topic_arn:
        found.append(statement("NotifyTopic", ["sns:Publish"], [settings.sns_topic_arn]))
    parameters = [
        parameter_arn(stack, name)
        for name in (settings.slack_webhook_ssm_parameter, settings.webhook_url_ssm_parameter)
        if name
    ]
    if parameters:
        found.append(statement("NotifyParameters", ["ssm:GetParameter"], parameters))
    secrets = [
        secret_arn(stack, secret_id)
        for secret_id in (settings.slack_webhook_secret_id, settings.webhook_url_secret_id)
        if secret_id
    ]
    if secrets:
        found.append(statement("NotifySecret", ["secretsmanager:GetSecretValue"], secrets))
    return found


def alarm_statements(config: Config, stack: Stack) -> list[dict[str, Any]]:
    """Return the grant to read the alarms the rules' ``hold_if_alarm`` gates name (none when no rule names one).

    A gate reads its alarms in the region of each target (the install region for a target that names none).
    """
    alarms = [
        stack.site.arn("cloudwatch", f"alarm:{name}", region=region)
        for rule in config.rules
        if rule.gates is not None
        for region in dict.fromkeys(t.region or stack.site.region for t in rule.targets)
        for name in rule.gates.hold_if_alarm
    ]
    return [statement("ReadGateAlarms", ["cloudwatch:DescribeAlarms"], alarms)] if alarms else []


def parameter_arn(stack: Stack, name: str) -> str:
    """Return the ARN of an SSM parameter given by name (``/a/b`` or ``a``) or ARN."""
    if name.startswith("arn:"):
        return name
    return stack.site.arn("ssm", f"parameter/{name.removeprefix('/')}")


def secret_arn(stack: Stack, secret_id: str) -> str:
    """Return the ARN pattern of a Secrets Manager secret given by name or ARN (its random suffix as ``??????``)."""
    if _FULL_SECRET_ARN_RE.match(secret_id):
        return secret_id
    if secret_id.startswith("arn:"):
        return secret_id + _SECRET_SUFFIX
    return stack.site.arn("secretsmanager", f"secret:{secret_id}{_SECRET_SUFFIX}")


def policies(config: Config, stack: Stack, access: TaskAccess) -> dict[str, Any]:
    """Return every policy kind: execution, installer, console, and per cross-account role its target part."""
    return {
        "execution": execution_policy(config, stack, access),
        "installer": installer_policy(config, stack),
        "console": console_policy(stack),
        "target": target_policies(config, stack),
    }
